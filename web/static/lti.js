// LTI pages: the launch's cookie check (with a new-window fallback) and the Deep Linking auto-submit.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var back = document.querySelector("form[data-autosubmit]");
    if (back) { back.submit(); return; }
    var box = document.getElementById("lti-launch");
    if (!box) return;
    fetch(box.dataset.check, {credentials: "include", cache: "no-store"}).then(function (r) {
      if (r.status === 204) { window.location.replace(box.dataset.next); return; }
      document.getElementById("lti-wait").hidden = true;
      document.getElementById("lti-blocked").hidden = false;
    }).catch(function () {
      document.getElementById("lti-wait").hidden = true;
      document.getElementById("lti-blocked").hidden = false;
    });
  });
})();
