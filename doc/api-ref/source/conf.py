# Sphinx configuration of the ratekeeper API reference.
#
# Build (warnings are errors):
#   sphinx-build -W -b html doc/api-ref/source doc/api-ref/build/html
# Sample JSON files are real responses, written by tools/api_samples.py.

project = 'ratekeeper API Reference'
copyright = 'ratekeeper contributors'

extensions = [
    'os_api_ref',
    'openstackdocstheme',
]

# openstackdocstheme: no repository links, no bug tracker, no git calls.
openstackdocs_repo_name = 'ratekeeper/ratekeeper'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False
openstackdocs_bug_project = ''
openstackdocs_bug_tag = ''
openstackdocs_pdf_link = False
openstackdocs_auto_version = False
version = release = ''
html_last_updated_fmt = None

html_theme = 'openstackdocs'
html_theme_options = {'sidebar_mode': 'toc'}
html_static_path = ['_static']

root_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = []
pygments_style = 'native'
