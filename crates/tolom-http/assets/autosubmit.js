// tolom portal: submits the form marked `data-autosubmit` (the page that
// sends the payer to the bank's 3-D Secure or payment page) as soon as the
// page is loaded. Without JavaScript the payer presses the form's button;
// nothing else on the portal uses scripts. Served at /static/autosubmit.js.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (form) {
    form.submit();
  }
})();
