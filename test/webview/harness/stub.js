// The harness's stand-in for what VS Code gives a webview: acquireVsCodeApi (posted messages are recorded
// in window.__posted; state persists in sessionStorage: a reload behaves like hiding and re-showing the
// panel, and every new page starts fresh) and the theme's body class. It also records CSP violations (window.__violations).
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  document.body.classList.add(params.get('bodyClass') || 'vscode-dark');
  window.__posted = [];
  window.__violations = [];
  window.__xss = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    window.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  });
  var key = 'flowlens-webview-state';
  var acquired = false;
  window.acquireVsCodeApi = function () {
    if (acquired) {
      throw new Error('An instance of the VS Code API has already been acquired');
    }
    acquired = true;
    return {
      postMessage: function (m) {
        window.__posted.push(JSON.parse(JSON.stringify(m)));
      },
      getState: function () {
        var s = sessionStorage.getItem(key);
        return s ? JSON.parse(s) : undefined;
      },
      setState: function (s) {
        sessionStorage.setItem(key, JSON.stringify(s));
        return s;
      },
    };
  };
})();
