// Puhui console: progressive enhancement only (every page works without it).
// A form is sent once: its submit button is disabled while the next page loads.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.method.toLowerCase() !== "post") return;
  for (const button of form.querySelectorAll("button")) {
    setTimeout(() => { button.disabled = true; }, 0);
  }
});
