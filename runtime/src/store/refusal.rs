//! Refusals: requests the store turns down because of what was asked (an unknown user, an
//! invalid name), not because the database failed. Callers show these to the person who
//! asked; the API answers them with a 4xx.

/// Raised through `anyhow`; find it with `downcast_ref::<Refusal>()`.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or breaks a rule (e.g. a user without a role).
    #[error("{0}")]
    Invalid(String),
    /// The request clashes with what exists (e.g. a name already taken).
    #[error("{0}")]
    Conflict(String),
    /// The one asking may not do this (e.g. grant a role they do not hold, or remove the
    /// last Administrator).
    #[error("{0}")]
    Forbidden(String),
}
