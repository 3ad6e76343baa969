// Small progressive enhancements; every page works without them.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const target = document.getElementById("flash");
  if (target && status >= 500) {
    target.textContent = "The server had a problem (" + status + "). Nothing was saved; try again.";
    target.hidden = false;
  }
});
