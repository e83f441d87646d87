// Progressive enhancement only: every page works without this file.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});

// A hold's countdown (the server's figure is already on the page; this keeps it moving).
document.querySelectorAll("[data-countdown]").forEach((element) => {
  let left = Number(element.dataset.countdown);
  const shown = element.querySelector("strong");
  const tick = () => {
    left = Math.max(0, left - 1);
    shown.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left === 0) {
      element.textContent = "The hold has expired: search again.";
      return;
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
});
