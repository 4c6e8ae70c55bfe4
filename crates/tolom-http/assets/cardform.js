// tolom portal: keeps the card form from coming back with the card in it.
// Served at /static/cardform.js, loaded by the card form only.
//
// Browsers keep a page they leave in their back/forward cache, typed values
// included, and show it again on Back without asking the server, even when
// the page is `Cache-Control: no-store` (Chromium does). So:
// - when the page is left (the card was sent, or the payer went elsewhere),
//   every field the payer typed into is emptied: what the cache keeps is
//   an empty form;
// - when the page comes back from that cache, it is loaded again from the
//   server, which answers with where the payment stands now ("already
//   paid" and the receipt link after paying).
// Without JavaScript the form works the same; see docs/security.md, "After
// paying".
(function () {
  "use strict";
  window.addEventListener("pagehide", function () {
    var forms = document.querySelectorAll("form[data-card-form]");
    for (var i = 0; i < forms.length; i++) {
      var fields = forms[i].querySelectorAll("input:not([type=hidden])");
      for (var j = 0; j < fields.length; j++) {
        fields[j].value = "";
      }
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });
})();
