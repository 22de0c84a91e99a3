// MathJax 3, served from this site (assets/mathjax/, copied from the django-static-mathjax
// package at build time): no page asks another host for anything.
// Markdown pages: pymdownx.arithmatex wraps each formula in <span|div class="arithmatex">
// with \( \) or \[ \] delimiters. Notebook pages: nbconvert leaves $...$ and $$...$$ in the
// rendered Markdown cells (class jp-RenderedMarkdown). Only those elements are typeset
// (startup.elements), so a dollar sign anywhere else is left alone; code is never typeset.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  startup: {
    elements: [".arithmatex", ".jp-RenderedMarkdown"],
  },
  svg: { fontCache: "global" },
};
