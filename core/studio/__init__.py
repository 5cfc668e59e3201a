"""The UI's front-end adapter without Streamlit: one browser session's model, rewrite,
downloads and private folder (``session``), background jobs, the sessions found again after a
reload (``registry``), and the Edit page's lasting choices. Import the modules themselves."""
