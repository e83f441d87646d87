// Progressive enhancement only: every page works without this file.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});

// A countdown: a hold's (minutes:seconds) or an offer's (data-words: "1 h 12 min", as
// scheduler/web/waitlist.py time_left writes it). The server's figure is already on the
// page; this keeps it moving.
const inWords = (left) => {
  if (left < 60) return "less than a minute";
  const hours = Math.floor(left / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  return hours ? `${hours} h ${minutes} min` : `${minutes} min`;
};
document.querySelectorAll("[data-countdown]").forEach((element) => {
  let left = Number(element.dataset.countdown);
  const shown = element.querySelector("strong");
  const words = "words" in element.dataset;
  const tick = () => {
    left = Math.max(0, left - 1);
    shown.textContent = words
      ? inWords(left)
      : `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left === 0) {
      element.textContent = element.dataset.expired || "The hold has expired: search again.";
      return;
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
});

// A form marked data-once sends once: a second click (or Enter) while the first request
// is on its way does nothing, and the button says what is happening. The server copes
// with a second request anyway (a consumed hold leads to its appointment).
document.querySelectorAll("form[data-once]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "yes";
    form.querySelectorAll("button[type=submit]").forEach((button) => {
      button.setAttribute("aria-disabled", "true");
      if (button.dataset.busy) button.textContent = button.dataset.busy;
    });
  });
});
// Back to a page kept in the browser's memory: its forms may be sent again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  document.querySelectorAll("form[data-sent]").forEach((form) => {
    delete form.dataset.sent;
  });
});
