// Progressive enhancement for votes, comments and collections; every page works without it.
// Each enhanced form is the same form the server handles without JavaScript: here it is
// sent with fetch and `Accept: application/json`, and the page is updated in place.
"use strict";

(function () {
  function csrfToken(form) {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // The form's URL. Not `form.action`: a field named "action" would shadow it.
  function actionOf(form) {
    return new URL(form.getAttribute("action") || "", document.baseURI).href;
  }

  // POST a form; resolves to {status, data}. A 401 sends the person to the login page.
  function send(form) {
    return fetch(actionOf(form), {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) },
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return { error: "Something went wrong (HTTP " + response.status + "). Try again." };
        })
        .then(function (data) {
          if (response.status === 401 && data.login) {
            window.location.assign(data.login);
          }
          return { status: response.status, data: data };
        });
    });
  }

  function showError(form, message) {
    var box = form.querySelector("[data-form-error]");
    if (box) {
      box.textContent = message || "";
      box.hidden = !message;
    } else if (message) {
      window.alert(message);
    }
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html; // server-rendered, sanitised comment markup
    return template.content;
  }

  // --- votes ---------------------------------------------------------------------------
  function setVote(form, voted, upvotes) {
    var button = form.querySelector("button");
    form.querySelector("input[name=on]").value = voted ? "0" : "1";
    button.setAttribute("aria-pressed", voted ? "true" : "false");
    button.setAttribute("aria-label", "Upvote (" + upvotes + ")");
    button.title = voted ? "Take your upvote back" : "Upvote";
    form.querySelector(".vote-count").textContent = upvotes;
  }

  function onVote(form) {
    var button = form.querySelector("button");
    if (button.disabled) return;
    button.disabled = true;
    send(form)
      .then(function (result) {
        if (result.status === 200) {
          // Every vote button for this paper on the page shows the new state.
          document.querySelectorAll("form[data-vote]").forEach(function (other) {
            if (actionOf(other) === actionOf(form)) setVote(other, result.data.voted, result.data.upvotes);
          });
        } else if (result.status !== 401) {
          showError(form, result.data.error);
        }
      })
      .catch(function () {
        form.submit();
      })
      .finally(function () {
        button.disabled = false;
      });
  }

  // --- comments ------------------------------------------------------------------------
  function onComment(form) {
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showError(form, "");
    send(form)
      .then(function (result) {
        if (result.status !== 201) {
          if (result.status !== 401) showError(form, result.data.error);
          return;
        }
        var data = result.data;
        var list = data.parent
          ? document.querySelector("#comment-" + data.parent + " [data-replies]")
          : document.querySelector("[data-comments]");
        if (!list) {
          window.location.assign(actionOf(form).replace(/\/comments$/, "") + "#comment-" + data.id);
          return;
        }
        list.appendChild(fragment(data.html));
        form.reset();
        var details = form.closest("details");
        if (details) details.open = false;
        var empty = document.querySelector("[data-no-comments]");
        if (empty) empty.remove();
        var count = document.querySelector("[data-comment-count]");
        if (count) count.textContent = data.num_comments;
        var added = document.getElementById("comment-" + data.id);
        if (added) added.scrollIntoView({ block: "nearest" });
      })
      .catch(function () {
        form.submit();
      })
      .finally(function () {
        button.disabled = false;
      });
  }

  function onCommentEdit(form) {
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showError(form, "");
    send(form)
      .then(function (result) {
        if (result.status !== 200) {
          if (result.status !== 401) showError(form, result.data.error);
          return;
        }
        var comment = form.closest("[data-comment]");
        var body = comment && comment.querySelector("[data-comment-body]");
        if (body) {
          body.replaceChildren(fragment(result.data.html));
        }
        var details = form.closest("details");
        if (details) details.open = false;
      })
      .catch(function () {
        form.submit();
      })
      .finally(function () {
        button.disabled = false;
      });
  }

  // --- collections ---------------------------------------------------------------------
  function onCollectionToggle(form) {
    var button = form.querySelector("button");
    button.disabled = true;
    send(form)
      .then(function (result) {
        if (result.status !== 200) {
          if (result.status !== 401) showError(form, result.data.error);
          return;
        }
        var contains = result.data.contains;
        form.querySelector("input[name=action]").value = contains ? "remove" : "add";
        button.setAttribute("aria-pressed", contains ? "true" : "false");
        button.querySelector(".check").textContent = contains ? "✓" : "+";
      })
      .catch(function () {
        form.submit();
      })
      .finally(function () {
        button.disabled = false;
      });
  }

  var handlers = [
    ["form[data-vote]", onVote],
    ["form[data-comment-form]", onComment],
    ["form[data-comment-edit]", onCommentEdit],
    ["form[data-collection-toggle]", onCollectionToggle],
  ];

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (!window.fetch) return;
    for (var i = 0; i < handlers.length; i++) {
      if (form.matches(handlers[i][0])) {
        event.preventDefault();
        handlers[i][1](form);
        return;
      }
    }
  });

  // A reply or edit box that opens puts the cursor in its text area.
  document.addEventListener(
    "toggle",
    function (event) {
      var details = event.target;
      if (details.open && details.matches && details.matches("details.reply, details.comment-edit")) {
        var area = details.querySelector("textarea");
        if (area) area.focus();
      }
    },
    true
  );
})();
