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
// A file input marked data-base64 is read by the browser into the form's hidden document fields
// (name, type, base64 content), so the claim form stays a plain urlencoded post.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.base64) return;
  const form = input.form, file = input.files && input.files[0];
  const set = (name, value) => { const field = form.elements.namedItem(name); if (field) field.value = value; };
  if (!file) { set("document_name", ""); set("document_type", ""); set("document_content", ""); return; }
  const reader = new FileReader();
  reader.onload = () => {
    const url = String(reader.result);
    set("document_name", file.name.slice(0, 128));
    set("document_type", (file.type || "application/octet-stream").toLowerCase());
    set("document_content", url.slice(url.indexOf(",") + 1));
  };
  reader.readAsDataURL(file);
});
