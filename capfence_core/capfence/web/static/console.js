// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Sign-in link "…/login#token=…": fill the token from the fragment (never sent to the server) and sign in.
  var form = document.getElementById("login-form");
  if (form && location.hash.indexOf("#token=") === 0) {
    document.getElementById("token").value = decodeURIComponent(location.hash.slice(7));
    history.replaceState(null, "", location.pathname + location.search);
    form.submit();
  }
  // Ask before denying.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
  // Filters: a changed decision select applies at once.
  var select = document.getElementById("decision-filter");
  if (select) { select.addEventListener("change", function () { select.form.submit(); }); }
})();
