//! `.dockerignore` patterns.
