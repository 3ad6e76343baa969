// Small progressive enhancements; every page works without them.

// Forms answer 400/409/413 with the form and its errors in place: let htmx swap those in
// (its default swaps only 2xx).
if (window.htmx) {
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "(400|409|413)", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];
}

document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const target = document.getElementById("flash");
  if (target && status >= 500) {
    target.textContent = "The server had a problem (" + status + "). Nothing was saved; try again.";
    target.hidden = false;
  } else if (status === 403 || status === 404) {
    alert(status === 403 ? "Your role does not allow this." : "This no longer exists, or you lost access to it.");
  }
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
