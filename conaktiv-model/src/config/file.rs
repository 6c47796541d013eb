//! The configuration file: TOML in, TOML out, with errors that name the file, the line and
//! the field.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Configuration;
use crate::validate::{FieldPath, PathSegment, ValidationError};

/// A place in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file name as given.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// A validation error with the place in the file where the field (or its record) is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {error}")]
pub struct LocatedError {
    /// Where.
    pub location: Location,
    /// What.
    pub error: ValidationError,
}

/// Why a configuration could not be loaded or written. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the configuration file: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML, or a value has the wrong type or breaks a value rule.
    #[error("{location}: {field}: {message}")]
    Parse {
        /// Where.
        location: Location,
        /// The field path (`servers[0].url`), or `(document)` for a syntax error outside any field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The configuration parsed but breaks validation rules.
    #[error("{}", list_errors(errors))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem, located.
        errors: Vec<LocatedError>,
    },
    /// The configuration could not be written as TOML.
    #[error("cannot write the configuration as TOML: {0}")]
    Serialize(String),
}

fn list_errors(errors: &[LocatedError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!(
        "invalid configuration ({} problem(s)):\n{}",
        errors.len(),
        lines.join("\n")
    )
}

impl ConfigError {
    /// The line of the (first) problem, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Parse { location, .. } => location.line,
            Self::Invalid { errors, .. } => errors.first().and_then(|e| e.location.line),
            _ => None,
        }
    }

    /// The field path of the (first) problem, when known.
    pub fn field(&self) -> Option<String> {
        match self {
            Self::Parse { field, .. } => Some(field.clone()),
            Self::Invalid { errors, .. } => errors.first().map(|e| e.error.path.to_string()),
            _ => None,
        }
    }

    /// The validation errors, for [`ConfigError::Invalid`].
    pub fn validation_errors(&self) -> &[LocatedError] {
        match self {
            Self::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }

    /// Whether retrying could help (only reading the file can fail transiently).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Read { source, .. } if matches!(
            source.kind(),
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ))
    }
}

/// Removes string values that serde echoes in type errors (`invalid type: string "…"`): a
/// secret typed into the wrong field (`oauth = "the-secret"`) must not reach an error message.
fn scrub_string_values(message: &str) -> String {
    const MARK: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(pos) = rest.find(MARK) {
        out.push_str(&rest[..pos]);
        out.push_str("string (value not shown)");
        let after = &rest[pos + MARK.len()..];
        // skip to the closing quote, honouring backslash escapes
        let mut end = after.len();
        let mut escaped = false;
        for (i, ch) in after.char_indices() {
            match ch {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = i + 1;
                    break;
                }
                _ => escaped = false,
            }
        }
        rest = &after[end.min(after.len())..];
    }
    out.push_str(rest);
    out
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit_once('\n')
        .map_or(before, |(_, rest)| rest)
        .chars()
        .count()
        + 1;
    (line, col)
}

/// The span of the deepest item along `path` (the field, or its record if the field is
/// missing).
fn span_of(doc: &toml_edit::ImDocument<&str>, path: &FieldPath) -> Option<std::ops::Range<usize>> {
    let mut item = doc.as_item();
    let mut best = None;
    for seg in path.segments() {
        let next = match seg {
            PathSegment::Key(k) => item.get(k.as_str()),
            PathSegment::Index(i) => item.get(*i),
        };
        match next {
            Some(n) => {
                item = n;
                if let Some(span) = item.span() {
                    best = Some(span);
                }
            }
            None => break,
        }
    }
    best
}

fn location(file: &Path, text: &str, span: Option<std::ops::Range<usize>>) -> Location {
    let (line, column) = match span {
        Some(s) => {
            let (l, c) = line_col(text, s.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    Location {
        file: file.to_path_buf(),
        line,
        column,
    }
}

impl Configuration {
    /// Parses and validates a configuration text. `file_name` is only used in error messages.
    pub fn from_toml_str(text: &str, file_name: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let file = file_name.as_ref();
        let config = Self::parse_toml_str(text, file)?;
        config.validate().map_err(|errors| {
            // The text parsed once already, so this parse succeeds; without it, errors
            // still name file and field, just not the line.
            let doc = toml_edit::ImDocument::parse(text).ok();
            ConfigError::Invalid {
                file: file.to_path_buf(),
                errors: errors
                    .into_iter()
                    .map(|error| LocatedError {
                        location: location(
                            file,
                            text,
                            doc.as_ref().and_then(|d| span_of(d, &error.path)),
                        ),
                        error,
                    })
                    .collect(),
            }
        })?;
        Ok(config)
    }

    /// Parses a configuration text without the cross-record validation of
    /// [`Configuration::validate`] (value rules such as ports and URLs still apply).
    pub fn parse_toml_str(text: &str, file_name: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let file = file_name.as_ref();
        let deserializer = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = scrub_string_values(inner.message().trim());
            let mut field = if path == "." || path.is_empty() {
                String::new()
            } else {
                path
            };
            // "missing field `url`" is reported at the record; name the field itself.
            if let Some(name) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                field = if field.is_empty() {
                    name.to_owned()
                } else {
                    format!("{field}.{name}")
                };
            }
            if field.is_empty() {
                field = "(document)".to_owned();
            }
            ConfigError::Parse {
                location: location(file, text, inner.span()),
                field,
                message,
            }
        })
    }

    /// Reads, parses and validates a configuration file. This is the crate's only I/O.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, path)
    }

    /// Writes the configuration as TOML (secrets included: the file is where they live).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Serialize(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_values_are_scrubbed() {
        assert_eq!(
            scrub_string_values(r#"invalid type: string "s3cr\"et", expected struct OAuthApp"#),
            "invalid type: string (value not shown), expected struct OAuthApp"
        );
        assert_eq!(
            scrub_string_values("missing field `url`"),
            "missing field `url`"
        );
    }

    #[test]
    fn line_and_column() {
        let text = "a\nbc\näöx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 2));
        let x = text.find('x').unwrap_or_default();
        assert_eq!(line_col(text, x), (3, 3));
    }
}
