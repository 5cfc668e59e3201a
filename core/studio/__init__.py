"""The UI's front-end adapter without Streamlit: one browser session's model, rewrite,
downloads and private folder, and the Edit page's lasting choices."""

from core.studio.session import AppliedRewrite, LoadedModel, StudioSession, sample_names

__all__ = ["AppliedRewrite", "LoadedModel", "StudioSession", "sample_names"]
