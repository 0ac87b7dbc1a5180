// The pages' small behaviours, bound through data attributes: the Content-Security-Policy lets
// scripts come from this site's files only (no inline handlers, no hx-on, no eval).
"use strict";

document.addEventListener("click", (event) => {
  const remover = event.target.closest("[data-remove-closest]");
  if (remover) {
    const removed = remover.closest(remover.dataset.removeClosest);
    const around = removed.parentElement;
    removed.remove();
    // What follows the form's changes (a rule's live preview) hears of a removal too.
    around.dispatchEvent(new Event("change", { bubbles: true }));
  }
  const toggle = event.target.closest("[data-toggle-node]");
  if (toggle) {
    const node = toggle.closest(".node");
    node.classList.toggle("open");
    toggle.setAttribute("aria-expanded", node.classList.contains("open"));
  }
});

document.addEventListener("change", (event) => {
  const field = event.target;
  if (field.matches("[data-autosubmit]")) {
    field.form.submit();
  }
  if (field.matches("[data-shows-stage]")) {
    document.getElementById(field.dataset.showsStage).hidden = !field.selectedOptions[0].dataset.stage;
  }
  if (field.matches("[data-shows-types]")) {
    document.getElementById(field.dataset.showsTypes).hidden = !field.selectedOptions[0].dataset.types;
  }
});

document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A panel's poll (data-poll) waits while its tab is hidden.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (document.visibilityState !== "visible" && event.detail.elt.matches("[data-poll]")) {
    event.preventDefault();
  }
});

// A control that adds to the form (a new condition) counts as a change once its part is in,
// so what follows the form (a rule's live preview) sees the new part.
document.addEventListener("htmx:afterSettle", (event) => {
  const source = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (source && source.matches("[data-changes-form]")) {
    event.detail.target.dispatchEvent(new Event("change", { bubbles: true }));
  }
});
