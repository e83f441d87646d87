// Live totals of the recovery-score forms (progressive enhancement: the server checks
// every item and computes the recorded total itself; this only saves mental arithmetic).
document.querySelectorAll("form[data-score-form]").forEach((form) => {
  const output = form.querySelector("output[data-score-total]");
  const items = Number(form.dataset.items);
  const update = () => {
    const chosen = form.querySelectorAll("input[type=radio]:checked");
    let total = 0;
    chosen.forEach((input) => {
      total += Number(input.value);
    });
    // A total is shown only once every item is scored, as the server does.
    output.textContent = chosen.length === items ? String(total) : "–";
  };
  form.addEventListener("change", update);
  update();
});
