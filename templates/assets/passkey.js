// Latchkey passkeys (W3C Web Authentication). Each `form[data-passkey]` carries the options of
// one ceremony (JSON, binary values in base64url) and posts the browser's answer back as JSON in
// its `credential` field; the form's other fields (CSRF token, sealed state) are the server's.
// data-passkey: "create" adds a passkey, "get" signs in with one, "conditional" also offers the
// passkeys in the username field's autofill where the browser supports it. Without this script
// (or without WebAuthn) the passkey sections stay hidden and the rest of the page still works.
(function () {
  "use strict";

  function bytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      out[i] = binary.charCodeAt(i);
    }
    return out.buffer;
  }

  function text(buffer) {
    var view = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < view.length; i++) {
      binary += String.fromCharCode(view[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function credentialIds(list) {
    (list || []).forEach(function (c) {
      c.id = bytes(c.id);
    });
  }

  function creationOptions(json) {
    var options = JSON.parse(json).publicKey;
    options.challenge = bytes(options.challenge);
    options.user.id = bytes(options.user.id);
    credentialIds(options.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = JSON.parse(json).publicKey;
    options.challenge = bytes(options.challenge);
    credentialIds(options.allowCredentials);
    return options;
  }

  function registration(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: text(response.attestationObject),
        clientDataJSON: text(response.clientDataJSON)
      }
    };
  }

  function assertion(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: text(response.authenticatorData),
        clientDataJSON: text(response.clientDataJSON),
        signature: text(response.signature),
        userHandle: response.userHandle ? text(response.userHandle) : null
      }
    };
  }

  function prepare(form) {
    var section = form.closest("[data-passkey-section]") || form;
    section.hidden = false;
    var mode = form.getAttribute("data-passkey");
    var field = form.querySelector("input[name=credential]");
    var error = form.querySelector(".passkey-error");
    var waiting = null;
    var conditional = Promise.resolve();

    function submit(answer) {
      field.value = JSON.stringify(answer);
      form.submit();
    }

    function get(mediation) {
      var request = { publicKey: requestOptions(form.getAttribute("data-options")) };
      if (mediation) {
        waiting = new AbortController();
        request.mediation = mediation;
        request.signal = waiting.signal;
      }
      return navigator.credentials.get(request).then(function (credential) {
        if (credential) {
          submit(assertion(credential));
        }
      });
    }

    form.querySelector("button").addEventListener("click", function () {
      // A waiting autofill request ends before the button's own request starts.
      if (waiting) {
        waiting.abort();
        waiting = null;
      }
      error.hidden = true;
      var started;
      if (mode === "create") {
        var options = { publicKey: creationOptions(form.getAttribute("data-options")) };
        started = navigator.credentials.create(options).then(function (credential) {
          submit(registration(credential));
        });
      } else {
        started = conditional.then(function () {
          return get(null);
        });
      }
      started.catch(function () {
        error.textContent = form.getAttribute("data-failed");
        error.hidden = false;
      });
    });

    if (mode === "conditional" && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) {
          conditional = get("conditional").catch(function () {});
        }
      });
    }
  }

  if (window.PublicKeyCredential && navigator.credentials) {
    document.querySelectorAll("form[data-passkey]").forEach(prepare);
  }
})();
