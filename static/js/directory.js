/* The directory: small progressive enhancements. Every page works without this file.
 *
 * - remembers the reader's time zone in a cookie, so pages can show "your time";
 * - search-as-you-type suggestions (an ARIA combobox) on search boxes;
 * - refreshes a team's "Open now / Closed" badge every minute;
 * - filters search results as soon as a facet is ticked;
 * - adds and removes rows in the team editor without a round trip;
 * - asks before destructive actions; copy buttons; focus on error summaries, and from their
 *   links to the fields they name.
 */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return parts[i].slice(eq + 1);
    }
    return null;
  }

  /* ------------------------------------------------------------ reader's time zone */
  function rememberTimeZone() {
    var tz = "";
    try {
      tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return;
    }
    if (!/^[A-Za-z0-9_+\-\/]{1,64}$/.test(tz)) return;
    if (readCookie("tz") !== tz) {
      document.cookie = "tz=" + tz + "; path=/; max-age=31536000; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
    }
    var box = document.getElementById("status");
    var params = new URLSearchParams(location.search);
    if (box && !params.has("tz") && box.dataset.readerTz !== tz && readCookie("tz") === tz) {
      // The server rendered this page before it knew the reader's zone: show it once more with it.
      var key = "tz-reloaded:" + location.pathname + ":" + tz;
      try {
        if (!sessionStorage.getItem(key)) {
          sessionStorage.setItem(key, "1");
          location.reload();
        }
      } catch (e) { /* storage disabled: keep the team's time only */ }
    }
  }

  /* ------------------------------------------------------------ suggestions */
  function setUpSuggest(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var form = input.form;
    var status = document.getElementById(input.id + "-status");
    var url = input.dataset.suggestUrl;
    var teamUrl = input.dataset.teamUrl;
    var timer = null;
    var latest = "";
    var active = -1;
    if (!list || !url) return;

    function options() { return list.querySelectorAll("[role=option]"); }

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var opts = options();
      if (!opts.length) return;
      active = (index + opts.length) % opts.length;
      for (var i = 0; i < opts.length; i++) {
        opts[i].setAttribute("aria-selected", i === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", opts[active].id);
      opts[active].scrollIntoView({ block: "nearest" });
    }

    function go(option) {
      window.location.href = option.dataset.href;
    }

    function render(items, q) {
      list.innerHTML = "";
      active = -1;
      if (!items.length) {
        close();
        if (status) status.textContent = "No suggestions.";
        return;
      }
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = input.id + "-opt-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.className = "suggestion";
        li.dataset.href = teamUrl.replace("__slug__", encodeURIComponent(item.slug));
        var name = document.createElement("span");
        name.className = "suggestion__name";
        name.textContent = item.name;
        li.appendChild(name);
        if (item.department) {
          var dept = document.createElement("span");
          dept.className = "suggestion__dept";
          dept.textContent = item.department;
          li.appendChild(dept);
        }
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });
        li.addEventListener("click", function () { go(li); });
        list.appendChild(li);
      });
      var all = document.createElement("li");
      all.id = input.id + "-opt-all";
      all.setAttribute("role", "option");
      all.setAttribute("aria-selected", "false");
      all.className = "suggestion suggestion--all";
      all.dataset.href = form.action + "?q=" + encodeURIComponent(q);
      all.textContent = "Search for “" + q + "”";
      all.addEventListener("mousedown", function (event) { event.preventDefault(); });
      all.addEventListener("click", function () { go(all); });
      list.appendChild(all);
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      if (status) {
        status.textContent = items.length + (items.length === 1 ? " team suggested" : " teams suggested") +
          ". Use the up and down arrows to choose.";
      }
    }

    function fetchSuggestions() {
      var q = input.value.trim();
      latest = q;
      if (q.length < 2) { close(); return; }
      fetch(url + "?limit=7&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (body) {
          if (q !== latest) return; // a newer keystroke is on its way
          render(body.suggestions || [], q);
        })
        .catch(close);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 120);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown") {
        if (!open) { fetchSuggestions(); return; }
        event.preventDefault();
        highlight(active + 1);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        go(options()[active]);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  /* ------------------------------------------------------------ live status badge */
  function setUpStatus() {
    var box = document.getElementById("status");
    if (!box || box.dataset.fixed === "yes" || !window.fetch) return;
    var badge = document.getElementById("status-badge");
    var badgeReader = document.getElementById("status-badge-reader");
    var reply = document.getElementById("reply-by");
    var replyReader = document.getElementById("reply-by-reader");
    var url = box.dataset.statusUrl + (box.dataset.readerTz ? "?tz=" + encodeURIComponent(box.dataset.readerTz) : "");

    function strip(text) {
      return (text || "").replace(/^Reply expected by /, "");
    }

    function refresh() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
        .then(function (status) {
          var text = status.text || {};
          if (badge && text.badge) {
            var label = badge.querySelector(".badge__text");
            if (label.textContent !== text.badge) label.textContent = text.badge;
            var unknown = text.badge === "Hours not published";
            badge.classList.toggle("badge--open", !!status.open);
            badge.classList.toggle("badge--closed", !status.open && !unknown);
            badge.classList.toggle("badge--unknown", unknown);
          }
          if (badgeReader) {
            badgeReader.textContent = text.badge_reader || "";
            badgeReader.classList.toggle("is-empty", !text.badge_reader);
          }
          if (reply && text.reply) reply.textContent = strip(text.reply);
          if (replyReader && text.reply_reader) replyReader.textContent = strip(text.reply_reader);
          box.dataset.refreshedAt = new Date().toISOString();
        })
        .catch(function () { /* keep what the server rendered */ });
    }

    setInterval(refresh, 60 * 1000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") refresh();
    });
  }

  /* ------------------------------------------------------------ search filters */
  function setUpFacets() {
    var forms = document.querySelectorAll("form[data-autosubmit]");
    forms.forEach(function (form) {
      form.addEventListener("change", function (event) {
        var target = event.target;
        try {
          sessionStorage.setItem("facet-focus", target.name + "=" + target.value);
        } catch (e) { /* ignore */ }
        form.requestSubmit ? form.requestSubmit() : form.submit();
      });
    });
    var wanted = null;
    try {
      wanted = sessionStorage.getItem("facet-focus");
      sessionStorage.removeItem("facet-focus");
    } catch (e) { /* ignore */ }
    if (wanted) {
      var eq = wanted.indexOf("=");
      var name = wanted.slice(0, eq);
      var value = wanted.slice(eq + 1);
      var boxes = document.querySelectorAll("form[data-autosubmit] input[type=checkbox]");
      for (var i = 0; i < boxes.length; i++) {
        if (boxes[i].name === name && boxes[i].value === value) {
          var details = boxes[i].closest("details");
          if (details) details.open = true;
          boxes[i].focus();
          break;
        }
      }
    }
  }

  /* ------------------------------------------------------------ team editor */
  function setUpEditor() {
    var editor = document.querySelector("form[data-editor]");
    if (!editor) return;
    var counter = 1000;

    editor.addEventListener("click", function (event) {
      var add = event.target.closest("[data-add-row]");
      if (add) {
        event.preventDefault();
        var template = document.getElementById(add.dataset.addRow);
        var rows = add.parentElement.querySelector("[data-rows]");
        if (!template || !rows) return;
        counter += 1;
        var number = rows.querySelectorAll("[data-row]").length + 1;
        var holder = document.createElement("div");
        holder.innerHTML = template.innerHTML.split("__i__").join(String(counter)).split("__n__").join(String(number));
        var row = holder.firstElementChild;
        rows.appendChild(row);
        var first = row.querySelector("input, select, textarea");
        if (first) first.focus();
        return;
      }
      var remove = event.target.closest("[data-remove-row]");
      if (remove) {
        event.preventDefault();
        var doomed = remove.closest("[data-row]");
        var list = doomed.parentElement;
        var section = list.parentElement;
        doomed.remove();
        var next = section.querySelector("[data-add-row]");
        if (next) next.focus();
      }
    });

    var toggles = editor.querySelectorAll("[data-hours-toggle]");
    var panel = editor.querySelector("[data-hours-editor]");
    function syncHours() {
      if (!panel) return;
      var published = editor.querySelector("[data-hours-toggle][value=yes]");
      var on = published && published.checked;
      panel.hidden = !on;
      panel.querySelectorAll("input, select, textarea, button").forEach(function (el) { el.disabled = !on; });
    }
    toggles.forEach(function (t) { t.addEventListener("change", syncHours); });
    syncHours();
  }

  /* ------------------------------------------------------------ character counters */
  /* A textarea with data-max-chars keeps its "n of max characters" line current as one types,
   * counting characters as the server does (code points, not UTF-16 units). */
  function setUpCharCounters() {
    document.querySelectorAll("textarea[data-max-chars]").forEach(function (area) {
      var counter = document.querySelector('[data-char-count-for="' + area.id + '"]');
      var max = parseInt(area.dataset.maxChars, 10);
      if (!counter || !max) return;
      var format = function (n) { return n.toLocaleString("en-GB"); };
      function update() {
        var n = Array.from(area.value).length;
        var over = n - max;
        counter.textContent = format(n) + " of " + format(max) + " characters" +
          (over > 0 ? " — " + format(over) + " too many" : "");
        counter.classList.toggle("char-count--over", over > 0);
      }
      area.addEventListener("input", update);
      update();
    });
  }

  /* ------------------------------------------------------------ small things */
  function setUpConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }

  function setUpCopy() {
    if (!navigator.clipboard) return;
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.dataset.copy).then(function () {
          var old = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = old; }, 1500);
        });
      });
    });
  }

  function focusProblems() {
    var target = document.getElementById("conflict") || document.getElementById("error-summary");
    if (target) target.focus();
  }

  /* A summary link names a field or a group of fields (a day's hours, a service). Following the
   * bare link would only scroll, and a group cannot take focus: put the keyboard in the field
   * itself (the first invalid one of a group) and show its label below the sticky editor bar. */
  function setUpErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (!summary) return;
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
      if (!target) return;
      var field = target.matches("input, select, textarea") ? target :
        target.querySelector("[aria-invalid=true]:not([disabled])") ||
        target.querySelector("input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])");
      if (!field) return;
      event.preventDefault();
      var details = field.closest("details");
      if (details) details.open = true;
      var label = field.id ? document.querySelector("label[for='" + field.id + "']") : null;
      var shown = label && !label.classList.contains("visually-hidden") ? label : (target === field ? field : target);
      shown.scrollIntoView({ block: "start" });
      field.focus({ preventScroll: true });
    });
  }

  function start() {
    rememberTimeZone();
    document.querySelectorAll("input[data-suggest-url]").forEach(setUpSuggest);
    setUpStatus();
    setUpFacets();
    setUpEditor();
    setUpCharCounters();
    setUpConfirm();
    setUpCopy();
    focusProblems();
    setUpErrorSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
