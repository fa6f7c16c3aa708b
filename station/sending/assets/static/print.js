// The A6 card page opens the print dialog once the card's image is in.
(function () {
  "use strict";
  var img = document.querySelector("img.printed");
  function go() { window.print(); }
  if (img.complete && img.naturalWidth > 0) go(); else img.addEventListener("load", go);
})();
