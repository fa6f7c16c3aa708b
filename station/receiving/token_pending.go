package receiving

import "net/http"

// csrfToken stands in for station.Token until package station lands.
func csrfToken(r *http.Request) string { return "" }
