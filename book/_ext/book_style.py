"""The book's look, set at the source rather than patched over in tests.

- the stylesheet ``book/_static/datamodeling.css`` on every page (code and tables fit the
  column), and ``datamodeling.js`` (a display equation wider than the column shrinks to fit);
- the theme's colour mode defaults to ``light`` (``html_context["default_mode"]``):
  pydata-sphinx-theme writes the default into each page, and with none set the browser logged
  "Got invalid theme mode" on every page;
- the favicon and MathJax are files of the site itself (``html_favicon`` and ``mathjax_path`` in
  ``_config.yml``), so no page asks the network for anything.
"""


def _theme_defaults(app, config):
    # pydata-sphinx-theme reads the default mode from the page context, not the theme options.
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def setup(app):
    app.connect("config-inited", _theme_defaults)
    app.add_css_file("datamodeling.css")
    app.add_js_file("datamodeling.js", defer="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
