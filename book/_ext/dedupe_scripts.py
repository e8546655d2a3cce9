"""Drop repeated <script> tags from every page.

sphinx-thebe registers its inline configuration script each time Sphinx reads the sources, and
Jupyter Book's build reads them twice, so every page declared ``const THEBE_JS_URL`` twice and
the browser logged "Identifier 'THEBE_JS_URL' has already been declared". The book does not use
Thebe; keeping only the first copy of each script makes the pages load without console errors.
"""


def _key(script):
    attributes = getattr(script, "attributes", {}) or {}
    # An inline script has filename None or "", depending on who registered it.
    return (getattr(script, "filename", None) or "", tuple(sorted(attributes.items())))


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
