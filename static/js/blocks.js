// Drag and drop of blocks on a runbook page. The ↑/↓ buttons are the keyboard way to do the same;
// this only sends the new key order to the reorder endpoint, which answers the re-rendered list
// and the new revision (out of band).
(function () {
  let dragged = null;

  function list() { return document.getElementById("blocks"); }

  document.addEventListener("dragstart", (event) => {
    const item = event.target.closest && event.target.closest("#blocks > li[data-key]");
    if (!item) return;
    dragged = item;
    item.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.dataset.key);
  });

  document.addEventListener("dragover", (event) => {
    if (!dragged) return;
    const over = event.target.closest && event.target.closest("#blocks > li[data-key]");
    if (!over || over === dragged) return;
    event.preventDefault();
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });

  document.addEventListener("drop", (event) => {
    if (dragged) event.preventDefault();
  });

  document.addEventListener("dragend", () => {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    const blocks = list();
    const keys = Array.from(blocks.querySelectorAll(":scope > li[data-key]")).map((item) => item.dataset.key);
    const revision = document.getElementById("runbook-revision");
    htmx.ajax("POST", blocks.dataset.reorderUrl, {
      target: "#blocks",
      swap: "outerHTML",
      values: { order: keys.join(","), revision: revision ? revision.value : "" },
    });
  });
})();
