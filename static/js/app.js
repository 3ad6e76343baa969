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

// Parameter rows: the variable a command reads follows the name as it is typed.
document.addEventListener("input", (event) => {
  const input = event.target;
  if (!input.matches || !input.matches(".param-row input[name$='-name']")) return;
  const shown = input.closest(".param-row").querySelector("[data-param-var]");
  const name = input.value.trim();
  if (shown) shown.textContent = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? "$RB_PARAM_" + name.toUpperCase() : "";
});

// Wide tables scroll inside their own box, not the page. Templates wrap theirs in .table-scroll;
// this wraps any that is not. A box that does scroll gets a tab stop, so keyboard users can
// scroll it too (axe: scrollable-region-focusable).
function fitScrollables(root) {
  if (!root.querySelectorAll) return;
  for (const table of root.querySelectorAll("table.list")) {
    if (table.parentElement && !table.parentElement.classList.contains("table-scroll")) {
      const box = document.createElement("div");
      box.className = "table-scroll";
      table.replaceWith(box);
      box.append(table);
    }
  }
  for (const box of root.querySelectorAll(".table-scroll, pre, .markdown table")) {
    const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
    if (scrolls && !box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
  }
}
document.addEventListener("DOMContentLoaded", () => fitScrollables(document));
document.addEventListener("htmx:load", (event) => fitScrollables(event.target.parentElement || event.target));
window.addEventListener("resize", () => fitScrollables(document));

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

// Behaviour that lived in hx-on attributes: those need 'unsafe-eval', which our
// Content-Security-Policy refuses, so it is wired here by data attributes instead.
document.addEventListener("click", (event) => {
  const target = event.target;
  if (!target.closest) return;
  // A "Cancel" of a form that was added in place takes it out again.
  const remover = target.closest("[data-remove-closest]");
  if (remover) {
    const container = remover.closest(remover.dataset.removeClosest);
    if (container) container.remove();
  }
  // Copy a shown-once value (a new API token) to the clipboard.
  const copier = target.closest("[data-copy-from]");
  if (copier) {
    const source = document.getElementById(copier.dataset.copyFrom);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.value).then(() => {
        copier.textContent = "Copied";
      });
    }
  }
});

document.addEventListener("focusin", (event) => {
  if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
});
