/* LectureFind front end: search form (drop / paste / record), keyboard results, player with captions & markers.
   No inline scripts anywhere: the CSP is script-src 'self'. */
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  // the clock format of lecturefind/timecode.py: m:ss, h:mm:ss from an hour on
  function clock(t) {
    t = Math.max(0, Math.floor(t));
    var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function typing(e) {
    var el = e.target;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  // ---- search form ------------------------------------------------------------------------------
  function setFile(input, file, how) {
    if (!input || !file) return;
    try {
      var dt = new DataTransfer();
      dt.items.add(file);
      input.files = dt.files;
    } catch (err) { return; }
    input.dispatchEvent(new Event("change", { bubbles: true }));
    var status = $("#" + input.id + "-status");
    if (status) status.textContent = how + ": " + (file.name || input.id) + " (" + Math.round(file.size / 1024) + " KB)";
  }

  function initSearch() {
    var form = $("#search-form");
    if (!form) return;
    var image = $("#image"), audio = $("#audio"), drop = $("#drop"), go = $("#go");

    form.addEventListener("submit", function (e) {
      var hasFile = (image && image.files.length) || (audio && audio.files.length);
      if (go) { go.disabled = true; go.textContent = "Searching…"; }
      form.setAttribute("aria-busy", "true");
      if (!hasFile) {            // plain question: a shareable GET URL, no redirect round trip
        e.preventDefault();
        var params = new URLSearchParams();
        var q = $("#q").value.trim();
        if (q) params.set("q", q);
        params.set("course", $("#course").value);
        window.location.assign(form.getAttribute("action") + "?" + params.toString());
      }
    });
    window.addEventListener("pageshow", function () {
      if (go) { go.disabled = false; go.textContent = "Search"; }
      form.removeAttribute("aria-busy");
    });

    if (image) image.addEventListener("change", function () {
      var st = $("#image-status");
      if (st && image.files.length && !st.textContent) st.textContent = image.files[0].name;
    });

    // drag and drop anywhere on the form; images go to the slide-photo input, audio to the spoken question
    ["dragenter", "dragover"].forEach(function (ev) {
      form.addEventListener(ev, function (e) { e.preventDefault(); if (drop) drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      form.addEventListener(ev, function () { if (drop) drop.classList.remove("over"); });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      var f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      if (!f) return;
      if (/^audio\//.test(f.type)) setFile(audio, f, "Dropped");
      else setFile(image, f, "Dropped");
    });
    // paste an image from the clipboard (screenshot of a slide)
    document.addEventListener("paste", function (e) {
      var items = (e.clipboardData && e.clipboardData.files) || [];
      for (var i = 0; i < items.length; i++) {
        if (/^image\//.test(items[i].type)) {
          e.preventDefault();
          var f = items[i];
          var named = new File([f], f.name && f.name !== "image.png" ? f.name : "pasted-image.png", { type: f.type });
          setFile(image, named, "Pasted");
          return;
        }
      }
    });
  }

  // ---- results: arrow keys move between moments; "/" focuses the search box ----------------------
  function initResults() {
    document.addEventListener("keydown", function (e) {
      if (e.key === "/" && !typing(e)) {
        var q = $("#q");
        if (q) { e.preventDefault(); q.focus(); q.select(); }
        return;
      }
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
      if (typing(e) && e.target.id !== "q") return;
      var links = $$("a.moment");
      if (!links.length) return;
      var i = links.indexOf(document.activeElement);
      if (e.target.id === "q" && e.key === "ArrowDown") i = -1;
      else if (i < 0) return;
      e.preventDefault();
      var next = e.key === "ArrowDown" ? Math.min(i + 1, links.length - 1) : i - 1;
      if (next < 0) { $("#q").focus(); return; }
      links[next].focus();
    });
  }

  // ---- player ------------------------------------------------------------------------------------
  function initPlayer() {
    var wrap = $("#player"), video = $("#video");
    if (!wrap || !video) return;
    var start = parseFloat(wrap.getAttribute("data-start")) || 0;
    var progress = $("#progress");
    var cc = $("#cc");

    function captions(on) {
      for (var i = 0; i < video.textTracks.length; i++) video.textTracks[i].mode = on ? "showing" : "hidden";
      if (cc) { cc.setAttribute("aria-pressed", on ? "true" : "false"); cc.textContent = on ? "Captions on" : "Captions off"; }
    }
    captions(true);                                   // captions on by default
    if (video.textTracks.length) video.textTracks[0].addEventListener("change", function () {
      var on = video.textTracks[0].mode === "showing";
      if (cc) { cc.setAttribute("aria-pressed", on ? "true" : "false"); cc.textContent = on ? "Captions on" : "Captions off"; }
    });

    function seek(t, play) {
      video.currentTime = Math.max(0, t);
      if (play) {
        var p = video.play();
        if (p && p.catch) p.catch(function () {});
      }
    }

    var started = false;
    function begin() {
      if (started) return;
      started = true;
      if (Math.abs(video.currentTime - start) > 0.25) video.currentTime = start;
      var p = video.play();
      if (p && p.catch) p.catch(function () { wrap.classList.add("needs-click"); });
    }
    if (video.readyState >= 1) begin(); else video.addEventListener("loadedmetadata", begin);

    $$(".marker").forEach(function (m) {
      m.style.left = (parseFloat(m.getAttribute("data-frac")) * 100).toFixed(2) + "%";
    });
    $$(".seek, .marker").forEach(function (b) {
      b.addEventListener("click", function () { seek(parseFloat(b.getAttribute("data-t")), true); });
    });
    var bind = function (id, fn) { var el = $("#" + id); if (el) el.addEventListener("click", fn); };
    bind("back10", function () { seek(video.currentTime - 10, false); });
    bind("fwd10", function () { seek(video.currentTime + 10, false); });
    bind("playpause", function () { if (video.paused) video.play(); else video.pause(); });
    bind("cc", function () { captions(!(video.textTracks.length && video.textTracks[0].mode === "showing")); });

    document.addEventListener("keydown", function (e) {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "k") { if (video.paused) video.play(); else video.pause(); }
      else if (e.key === "j") seek(video.currentTime - 10, false);
      else if (e.key === "l") seek(video.currentTime + 10, false);
      else if (e.key === "c") captions(!(video.textTracks.length && video.textTracks[0].mode === "showing"));
      else return;
      e.preventDefault();
    });

    // the transcript line and the chapter being played follow the video
    function follower(items, mark) {
      var current = null;             // what the page was rendered with counts as marked already
      for (var j = 0; j < items.length; j++) {
        if (items[j].classList.contains("current") || items[j].hasAttribute("aria-current")) current = items[j];
      }
      return function (t) {
        var active = null;
        for (var i = 0; i < items.length; i++) {
          if (parseFloat(items[i].getAttribute("data-t")) <= t + 0.05) active = items[i]; else break;
        }
        if (active !== current) {
          if (current) mark(current, false);
          if (active) mark(active, true);
          current = active;
        }
      };
    }
    var panel = $(".transcript");
    var followLine = follower($$("#transcript-lines .line"), function (el, on) {
      if (!on) { el.removeAttribute("aria-current"); return; }
      el.setAttribute("aria-current", "true");
      if (panel && panel.scrollHeight > panel.clientHeight) {
        panel.scrollTop = Math.max(0, el.offsetTop - panel.offsetTop - panel.clientHeight / 3);
      }
    });
    var followChapter = follower($$("#chapters .chapter"), function (el, on) {
      el.classList.toggle("current", on);
      if (on) el.setAttribute("aria-current", "true"); else el.removeAttribute("aria-current");
    });
    video.addEventListener("timeupdate", function () {
      var t = video.currentTime, d = video.duration || parseFloat(wrap.getAttribute("data-duration")) || 0;
      if (progress && d) progress.style.width = (100 * t / d).toFixed(2) + "%";
      followLine(t);
      followChapter(t);
    });
    video.addEventListener("playing", function () {
      wrap.classList.remove("needs-click");
      document.title = document.title.replace(/ at [0-9:]+/, " at " + clock(video.currentTime));
    });
  }

  // ---- record a spoken question (optional: needs a microphone and permission) ---------------------
  function initRecorder() {
    var audio = $("#audio");
    if (!audio || !navigator.mediaDevices || !window.MediaRecorder) return;
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "record";
    btn.textContent = "● Record";
    btn.setAttribute("aria-pressed", "false");
    audio.parentNode.appendChild(btn);
    var rec = null, chunks = [];
    btn.addEventListener("click", function () {
      if (rec && rec.state === "recording") { rec.stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        chunks = [];
        rec = new MediaRecorder(stream);
        rec.ondataavailable = function (e) { chunks.push(e.data); };
        rec.onstop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          var type = rec.mimeType || "audio/webm";
          setFile(audio, new File(chunks, "question." + (type.indexOf("ogg") >= 0 ? "ogg" : "webm"), { type: type }), "Recorded");
          btn.textContent = "● Record"; btn.setAttribute("aria-pressed", "false");
        };
        rec.start();
        btn.textContent = "■ Stop"; btn.setAttribute("aria-pressed", "true");
        setTimeout(function () { if (rec && rec.state === "recording") rec.stop(); }, 60000);
      }).catch(function () { btn.textContent = "Microphone unavailable"; btn.disabled = true; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initSearch();
    initResults();
    initPlayer();
    initRecorder();
  });
})();
