// Small progressive enhancements; every page works without them.

// Which answers htmx swaps in place (the forms' 400/409/413/422) is set once, in base.html's
// <meta name="htmx-config">.

// In DEBUG, django-htmx's debug script replaces the whole document with any 400/403/404/500
// answer, which wiped the editor to a bare "This field is required.". Stopping the event on its
// way down (window, capture phase) keeps it from that listener on document; htmx itself goes on
// and swaps the form with its errors, or reports the failure below.
window.addEventListener(
  "htmx:beforeOnLoad",
  (event) => {
    if (event.detail.xhr && event.detail.xhr.status >= 400) event.stopPropagation();
  },
  true,
);

// A message region for failures that have no place of their own (a 5xx, a lost connection).
function flash(text) {
  let region = document.getElementById("flash");
  if (!region) {
    region = document.createElement("div");
    region.id = "flash";
    region.className = "message error";
    region.setAttribute("role", "alert");
    const main = document.getElementById("main") || document.body;
    main.prepend(region);
  }
  region.textContent = text;
  region.hidden = false;
}

document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 500) {
    flash("The server had a problem (" + status + "). Nothing was saved; try again.");
  } else if (status === 403) {
    flash("Your role does not allow this.");
  } else if (status === 404) {
    flash("This no longer exists, or you lost access to it. Reload the page.");
  } else {
    flash("The request was refused (" + status + "). Reload the page and try again.");
  }
});

document.addEventListener("htmx:sendError", () => {
  flash("The server could not be reached. Nothing was saved; check the connection and try again.");
});

// Parameter rows: ticking "Remove" takes the row out at once (without JS the tick drops it on save).
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.matches && target.matches("[data-remove-row]") && target.checked) {
    const row = target.closest(".param-row");
    if (row) row.remove();
  }
  // Share form: suggest users or groups depending on the chosen kind.
  if (target.matches && target.matches("[data-datalist-switch]")) {
    const input = document.getElementById(target.dataset.datalistSwitch);
    if (input) input.setAttribute("list", target.value === "group" ? "principal-groups" : "principal-users");
  }
});
