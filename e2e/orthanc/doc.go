// Package orthanc runs real Orthanc PACS servers for tests, each with the
// DICOMweb plugin, inside a Linux network namespace of the test's own.
//
// Orthanc listens on every interface whatever its configuration says, so
// a server on the machine's own network would be reachable from outside
// it. Here each server runs in a namespace (imgsh-pacs-<random>) that has
// only loopback: nothing outside the namespace can reach it, and the
// test reaches it through the namespace:
//
//	ns := orthanc.NewNamespace(t)
//	a := ns.Start(t, orthanc.Name("PACS_A"))
//	b := ns.Start(t, orthanc.Name("PACS_B"), orthanc.RejectInstances(uid))
//	hc := ns.HTTPClient()           // its connections are made inside ns
//	a.Upload(t, files...)           // through Orthanc's REST API
//	cmd := ns.Command(ctx, "bin/receiver", "import", "--to-dicomweb", b.DICOMwebURL, dir)
//
// Servers in one namespace share its loopback and get ports in turn:
// 8042 and 4242 (HTTP and DICOM) for the first, 8043 and 4243 for the
// second, and so on. Start alone makes a namespace for its one server.
//
// # Sockets and namespaces
//
// A socket belongs to the network namespace of the thread that created it,
// for its whole life. HTTPClient's transport therefore dials on a thread
// of its own, locked, switched into the namespace with setns(2) for the
// dial and switched back after it; the connection it returns then works
// from any goroutine. Should switching back fail, the thread stays locked
// and the runtime ends it with its goroutine, so no other goroutine ever
// runs in the namespace by accident.
//
// # Refusing instances
//
// Orthanc decides on each incoming instance with the Lua callback
// ReceivedInstanceFilter, for the REST API, DICOM C-STORE and the
// DICOMweb plugin's STOW-RS alike. RejectInstances makes it raise an
// error for the given SOP Instance UIDs, which Orthanc treats as a failure
// to store; DropInstances makes it return false, which Orthanc treats as a
// success whose instance it then does not keep ("FilteredOut"). What the
// STOW-RS answer of Orthanc 1.10.1 with DICOMweb 1.7 says in each case:
//
//   - dropped: HTTP 200, the instance listed in the Referenced SOP
//     Sequence as if stored; only a query shows it is missing;
//   - rejected: HTTP 200; the plugin stops at the rejected instance, which
//     is in neither sequence, and so are all the parts after it in the
//     same request, none of them stored;
//   - an instance of another study than the one in the URL: HTTP 409 and
//     the Failed SOP Sequence with reason 0x0110;
//   - a part that is not DICOM: HTTP 400, the other parts stored and
//     listed as referenced, the bad part in neither sequence.
//
// # Requirements
//
// Root, ip (iproute2), /usr/sbin/Orthanc and its DICOMweb plugin (Debian
// packages orthanc and orthanc-dicomweb). Without them the test is
// skipped, or failed when the environment variable CI is "true": CI must
// run the tests against a real PACS.
package orthanc
