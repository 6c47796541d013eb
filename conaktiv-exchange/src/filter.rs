//! The embedded filter language: the expression a sync rule's `filter` holds, evaluated by
//! the embedded CRM store ([`crate::sqlite::SqliteCrm`]). A host with its own store may
//! evaluate the rule's filter string in its own language instead.
//!
//! # Language
//!
//! ```text
//! filter     := <empty> | or
//! or         := and ( "OR" and )*
//! and        := unary ( "AND" unary )*
//! unary      := "NOT" unary | "(" or ")" | tag | comparison
//! tag        := "#" ( name | 'text' )          -- shorthand for  categories = 'text'
//! comparison := field op literal
//! field      := name ( "." name )*               -- a path into the record's fields
//! op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "~"   (~ : contains)
//! literal    := 'text' (a quote inside is doubled: 'O''Brien') | number | true | false
//! ```
//!
//! Keywords are case-insensitive. The empty filter (or only whitespace) matches every record.
//! A filter has at most [`MAX_LENGTH`] characters and nests parentheses and NOTs at most
//! [`MAX_DEPTH`] levels deep; longer or deeper filters are configuration errors
//! ([`FilterError::TooLong`], [`FilterError::TooDeep`]), never a crash.
//!
//! # Semantics
//!
//! * A field path walks the record's JSON form (`name.surname`, `emails.address`); lists are
//!   walked element by element, so a path can reach several values. A missing field or `null`
//!   counts as the empty text `''`, so `field != ''` means "is set".
//! * `=`, `<`, `<=`, `>`, `>=` and `~` hold when *any* value reached by the path satisfies
//!   them; `!=` (and `<>`) is exactly `NOT field = literal`.
//! * Text compares case-insensitively. When both the value and the literal are numbers,
//!   they compare as numbers; otherwise as text, so ISO dates (`start >= '2026-01-01'`)
//!   compare chronologically. Booleans compare as `true` / `false`.
//!
//! ```
//! use conaktiv_exchange::filter::Filter;
//! use serde_json::json;
//! let f = Filter::parse("#Vertrieb AND (company ~ 'gmbh' OR name.surname = 'Schmidt')").unwrap();
//! let record = json!({"categories": ["vertrieb"], "company": "Muster GmbH", "name": {"surname": "Meier"}});
//! assert!(f.matches(&record));
//! assert!(!Filter::parse("company = ''").unwrap().matches(&record));
//! ```

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

/// A parsed filter expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    source: String,
    expr: Option<Expr>,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `~` (contains, case-insensitive)
    Contains,
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp {
        path: Vec<String>,
        op: Op,
        value: Literal,
    },
}

/// Why a filter expression could not be parsed. `position` is the 0-based character offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// A character that starts no token.
    #[error("filter: unexpected character {found:?} at position {position}")]
    UnexpectedChar {
        /// The character.
        found: char,
        /// Where.
        position: usize,
    },
    /// A text literal without its closing quote.
    #[error("filter: text starting at position {position} has no closing quote")]
    UnterminatedText {
        /// Where the text starts.
        position: usize,
    },
    /// A token where something else was expected.
    #[error("filter: expected {expected} at position {position}, found {found:?}")]
    Unexpected {
        /// What the parser wanted.
        expected: &'static str,
        /// The token found.
        found: String,
        /// Where.
        position: usize,
    },
    /// The expression ended early.
    #[error("filter: expected {expected} at the end of the filter")]
    UnexpectedEnd {
        /// What the parser wanted.
        expected: &'static str,
    },
    /// Parentheses and NOTs nest deeper than [`MAX_DEPTH`].
    #[error(
        "filter: parentheses and NOTs nest deeper than {limit} levels at position {position}; simplify the filter"
    )]
    TooDeep {
        /// The limit.
        limit: usize,
        /// Where the limit was passed.
        position: usize,
    },
    /// The filter is longer than [`MAX_LENGTH`] characters.
    #[error("filter: {length} characters is longer than the limit of {limit}; simplify the filter")]
    TooLong {
        /// The filter's length in characters.
        length: usize,
        /// The limit.
        limit: usize,
    },
}

/// How deep parentheses and NOTs may nest in a filter.
pub const MAX_DEPTH: usize = 64;
/// How many characters a filter may have.
pub const MAX_LENGTH: usize = 16 * 1024;

impl FilterError {
    /// The character position of the problem, if it is not the end of the text.
    pub fn position(&self) -> Option<usize> {
        match self {
            Self::UnexpectedChar { position, .. }
            | Self::UnterminatedText { position }
            | Self::Unexpected { position, .. }
            | Self::TooDeep { position, .. } => Some(*position),
            Self::UnexpectedEnd { .. } | Self::TooLong { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    Text(String),
    Number(f64),
    Op(Op),
    LParen,
    RParen,
    Hash,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Name(n) => f.write_str(n),
            Tok::Text(t) => write!(f, "'{}'", t.replace('\'', "''")),
            Tok::Number(n) => write!(f, "{n}"),
            Tok::Op(op) => f.write_str(op.symbol()),
            Tok::LParen => f.write_str("("),
            Tok::RParen => f.write_str(")"),
            Tok::Hash => f.write_str("#"),
        }
    }
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "~",
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '-'
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let start = i;
        let next = chars.get(i + 1).copied();
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '#' => {
                i += 1;
                Tok::Hash
            }
            '~' => {
                i += 1;
                Tok::Op(Op::Contains)
            }
            '=' => {
                i += if next == Some('=') { 2 } else { 1 };
                Tok::Op(Op::Eq)
            }
            '!' if next == Some('=') => {
                i += 2;
                Tok::Op(Op::Ne)
            }
            '<' => match next {
                Some('=') => {
                    i += 2;
                    Tok::Op(Op::Le)
                }
                Some('>') => {
                    i += 2;
                    Tok::Op(Op::Ne)
                }
                _ => {
                    i += 1;
                    Tok::Op(Op::Lt)
                }
            },
            '>' => {
                if next == Some('=') {
                    i += 2;
                    Tok::Op(Op::Ge)
                } else {
                    i += 1;
                    Tok::Op(Op::Gt)
                }
            }
            '\'' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(FilterError::UnterminatedText { position: start }),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Text(s)
            }
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|ch| ch.is_ascii_digit() || *ch == '.')
                {
                    i += 1;
                }
                let s: String = chars.get(start..i).unwrap_or_default().iter().collect();
                match s.parse::<f64>() {
                    Ok(n) => Tok::Number(n),
                    Err(_) => {
                        return Err(FilterError::Unexpected {
                            expected: "a number",
                            found: s,
                            position: start,
                        });
                    }
                }
            }
            c if is_name_char(c) => {
                while chars.get(i).is_some_and(|ch| is_name_char(*ch)) {
                    i += 1;
                }
                Tok::Name(chars.get(start..i).unwrap_or_default().iter().collect())
            }
            other => {
                return Err(FilterError::UnexpectedChar {
                    found: other,
                    position: start,
                });
            }
        };
        out.push((start, tok));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    /// Open parentheses and NOTs around the current position (bounded by [`MAX_DEPTH`], so
    /// neither parsing nor evaluating can overflow the stack).
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n.eq_ignore_ascii_case(kw))
    }

    fn unexpected(&self, expected: &'static str) -> FilterError {
        match self.toks.get(self.pos) {
            Some((position, tok)) => FilterError::Unexpected {
                expected,
                found: tok.to_string(),
                position: *position,
            },
            None => FilterError::UnexpectedEnd { expected },
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.and()?];
        while self.keyword("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary()?];
        while self.keyword("and") {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    /// Enters one nesting level (a parenthesis or a NOT), refusing to pass [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let position = self.toks.get(self.pos).map_or(0, |(p, _)| *p);
            return Err(FilterError::TooDeep {
                limit: MAX_DEPTH,
                position,
            });
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.keyword("not") {
            self.enter()?;
            self.pos += 1;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        match self.peek() {
            Some(Tok::LParen) => {
                self.enter()?;
                self.pos += 1;
                let e = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.unexpected("')'"));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Hash) => {
                self.pos += 1;
                match self.next() {
                    Some(Tok::Name(n) | Tok::Text(n)) => Ok(Expr::Cmp {
                        path: vec!["categories".to_owned()],
                        op: Op::Eq,
                        value: Literal::Text(n),
                    }),
                    _ => {
                        self.pos -= 1;
                        Err(self.unexpected("a category after '#'"))
                    }
                }
            }
            Some(Tok::Name(n)) if !is_keyword(n) => {
                let path: Vec<String> = n.split('.').map(str::to_owned).collect();
                if path.iter().any(String::is_empty) {
                    return Err(self.unexpected("a field name"));
                }
                self.pos += 1;
                let op = match self.peek() {
                    Some(Tok::Op(op)) => *op,
                    _ => return Err(self.unexpected("a comparison operator")),
                };
                self.pos += 1;
                let value = match self.peek() {
                    Some(Tok::Text(t)) => Literal::Text(t.clone()),
                    Some(Tok::Number(n)) => Literal::Number(*n),
                    Some(Tok::Name(b)) if b.eq_ignore_ascii_case("true") => Literal::Bool(true),
                    Some(Tok::Name(b)) if b.eq_ignore_ascii_case("false") => Literal::Bool(false),
                    _ => return Err(self.unexpected("a value ('text', number, true or false)")),
                };
                self.pos += 1;
                Ok(Expr::Cmp { path, op, value })
            }
            _ => Err(self.unexpected("a field, '#', '(' or NOT")),
        }
    }
}

fn is_keyword(n: &str) -> bool {
    ["and", "or", "not"]
        .iter()
        .any(|k| n.eq_ignore_ascii_case(k))
}

impl Filter {
    /// Parses a filter expression. The empty text matches everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let length = text.chars().count();
        if length > MAX_LENGTH {
            return Err(FilterError::TooLong {
                length,
                limit: MAX_LENGTH,
            });
        }
        let toks = lex(text)?;
        if toks.is_empty() {
            return Ok(Filter::all());
        }
        let mut p = Parser {
            toks,
            pos: 0,
            depth: 0,
        };
        let expr = p.or()?;
        if p.pos < p.toks.len() {
            return Err(p.unexpected("AND, OR or the end of the filter"));
        }
        Ok(Filter {
            source: text.to_owned(),
            expr: Some(expr),
        })
    }

    /// The field paths the filter compares (`name.surname`, `categories`), in order, once
    /// each.
    pub fn field_paths(&self) -> Vec<String> {
        fn walk(e: &Expr, out: &mut Vec<String>) {
            match e {
                Expr::Or(items) | Expr::And(items) => items.iter().for_each(|i| walk(i, out)),
                Expr::Not(inner) => walk(inner, out),
                Expr::Cmp { path, .. } => {
                    let p = path.join(".");
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        let mut out = Vec::new();
        if let Some(e) = &self.expr {
            walk(e, &mut out);
        }
        out
    }

    /// The field paths of the filter that a record shaped like `example` (a record's JSON
    /// form with every field present) cannot have: such a comparison only ever sees `''`,
    /// which is nearly always a misspelt field. Below a list the fields are not known and
    /// count as present.
    pub fn unknown_fields(&self, example: &Value) -> Vec<String> {
        fn known(v: &Value, path: &[&str]) -> bool {
            let Some((head, rest)) = path.split_first() else {
                return true;
            };
            match v {
                Value::Object(m) => m.get(*head).is_some_and(|next| known(next, rest)),
                Value::Array(_) => true,
                // A scalar or a null (an optional object not set in the example) may hold
                // sub-fields only if it is null.
                Value::Null => true,
                _ => false,
            }
        }
        self.field_paths()
            .into_iter()
            .filter(|p| !known(example, &p.split('.').collect::<Vec<_>>()))
            .collect()
    }

    /// The filter that matches every record.
    pub fn all() -> Filter {
        Filter {
            source: String::new(),
            expr: None,
        }
    }

    /// Whether this filter matches every record (it is empty).
    pub fn is_all(&self) -> bool {
        self.expr.is_none()
    }

    /// The text the filter was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether a record (in its JSON form) matches.
    pub fn matches(&self, record: &Value) -> bool {
        self.expr.as_ref().is_none_or(|e| eval(e, record))
    }
}

/// The field values that make a new record match a filter: what [`Filter::defaults`] finds.
///
/// Only the top-level conjunction is used: each `field = literal` term, each `#Tag`
/// (`categories = 'Tag'`) and each `field ~ literal` term gives a value to set (a list field
/// gets the value added, a scalar field is set; a `~` term sets an empty scalar only).
/// Every other term (`OR`, `NOT`, `!=`, `<`, `>`, ...) cannot be satisfied automatically and
/// is listed in [`Defaults::unsatisfiable`]. A term whose path walks through a list of
/// objects (`emails.address = '...'`) or whose field has a non-empty value a `~` term does not
/// match is skipped by [`Defaults::apply`]. A new record may still match such terms by its
/// own content, and the record type may drop a field it does not have, which is why callers
/// check the result with [`Filter::matches`].
///
/// ```
/// use conaktiv_exchange::filter::Filter;
/// use serde_json::json;
/// let f = Filter::parse("#Exchange AND kategorie = 'Kunde'").unwrap();
/// let d = f.defaults();
/// assert!(d.is_complete());
/// let mut record = json!({"name": "Anna", "categories": ["VIP"]});
/// d.apply(&mut record);
/// assert_eq!(record, json!({"name": "Anna", "categories": ["VIP", "Exchange"], "kategorie": "Kunde"}));
/// assert!(f.matches(&record));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Defaults {
    assignments: Vec<Assignment>,
    unsatisfiable: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
struct Assignment {
    path: Vec<String>,
    value: Value,
    /// `~`: only an empty scalar is set; a list gets the value added.
    contains: bool,
    /// `#Tag`: a missing field becomes a list.
    list: bool,
}

impl Defaults {
    /// Whether every term of the filter can be satisfied by [`Defaults::apply`] (the empty
    /// filter included).
    pub fn is_complete(&self) -> bool {
        self.unsatisfiable.is_empty()
    }

    /// The terms that cannot be satisfied automatically, as filter text.
    pub fn unsatisfiable(&self) -> &[String] {
        &self.unsatisfiable
    }

    /// The fields this sets, as `path = value` texts (for reports).
    pub fn describe(&self) -> Vec<String> {
        self.assignments
            .iter()
            .map(|a| {
                format!(
                    "{} {} {}",
                    a.path.join("."),
                    if a.contains { "~" } else { "=" },
                    a.value
                )
            })
            .collect()
    }

    /// Sets the values on a record's JSON form. Fields that already satisfy a term are left
    /// as they are; a term whose path cannot be set (it walks through a list or a non-object)
    /// is skipped.
    pub fn apply(&self, record: &mut Value) {
        for a in &self.assignments {
            assign(record, &a.path, a);
        }
    }
}

fn literal_value(l: &Literal) -> Value {
    match l {
        Literal::Text(t) => Value::String(t.clone()),
        #[allow(clippy::cast_possible_truncation)]
        Literal::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::from(*n as i64),
        Literal::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Literal::Bool(b) => Value::Bool(*b),
    }
}

fn assign(v: &mut Value, path: &[String], a: &Assignment) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    let Value::Object(map) = v else {
        return;
    };
    let name = map
        .keys()
        .find(|k| k.eq_ignore_ascii_case(head))
        .cloned()
        .unwrap_or_else(|| head.clone());
    if !rest.is_empty() {
        let child = map
            .entry(name)
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if child.is_null() {
            *child = Value::Object(serde_json::Map::new());
        }
        assign(child, rest, a);
        return;
    }
    let lit = Literal::Text(leaf_text(&a.value).unwrap_or_default());
    let op = if a.contains { Op::Contains } else { Op::Eq };
    let slot = map.entry(name).or_insert(Value::Null);
    match slot {
        Value::Array(items) => {
            if items.iter().any(|i| i.is_object() || i.is_array()) {
                return;
            }
            if !items.iter().any(|i| compare(i, op, &lit)) {
                items.push(a.value.clone());
            }
        }
        Value::Object(_) => {}
        Value::Null if a.list => *slot = Value::Array(vec![a.value.clone()]),
        other => {
            if compare(other, op, &lit) {
                return;
            }
            let empty = leaf_text(other).is_some_and(|t| t.is_empty());
            if !a.contains || empty {
                *other = a.value.clone();
            }
        }
    }
}

fn render(e: &Expr) -> String {
    match e {
        Expr::Or(items) => format!(
            "({})",
            items.iter().map(render).collect::<Vec<_>>().join(" OR ")
        ),
        Expr::And(items) => format!(
            "({})",
            items.iter().map(render).collect::<Vec<_>>().join(" AND ")
        ),
        Expr::Not(inner) => format!("NOT {}", render(inner)),
        Expr::Cmp { path, op, value } => {
            let lit = match value {
                Literal::Text(t) => Tok::Text(t.clone()).to_string(),
                Literal::Number(n) => n.to_string(),
                Literal::Bool(b) => b.to_string(),
            };
            format!("{} {} {lit}", path.join("."), op.symbol())
        }
    }
}

fn collect_defaults(e: &Expr, out: &mut Defaults) {
    match e {
        Expr::And(items) => {
            for i in items {
                collect_defaults(i, out);
            }
        }
        Expr::Cmp {
            path,
            op: op @ (Op::Eq | Op::Contains),
            value,
        } => out.assignments.push(Assignment {
            path: path.clone(),
            value: literal_value(value),
            contains: *op == Op::Contains,
            list: *op == Op::Eq
                && path.len() == 1
                && path.first().is_some_and(|p| p == "categories"),
        }),
        other => out.unsatisfiable.push(render(other)),
    }
}

impl Filter {
    /// The field values that make a new record match this filter (see [`Defaults`]).
    pub fn defaults(&self) -> Defaults {
        let mut out = Defaults::default();
        if let Some(e) = &self.expr {
            collect_defaults(e, &mut out);
        }
        out
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter::all()
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

fn eval(e: &Expr, record: &Value) -> bool {
    match e {
        Expr::Or(items) => items.iter().any(|i| eval(i, record)),
        Expr::And(items) => items.iter().all(|i| eval(i, record)),
        Expr::Not(inner) => !eval(inner, record),
        Expr::Cmp { path, op, value } => {
            let mut leaves = Vec::new();
            collect(record, path, &mut leaves);
            let empty = Value::String(String::new());
            if leaves.is_empty() {
                leaves.push(&empty);
            }
            match op {
                Op::Ne => !leaves.iter().any(|l| compare(l, Op::Eq, value)),
                _ => leaves.iter().any(|l| compare(l, *op, value)),
            }
        }
    }
}

/// Collects the values a path reaches; lists are walked element by element.
fn collect<'a>(v: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => {
            for item in items {
                collect(item, path, out);
            }
        }
        _ => match path.split_first() {
            None => out.push(v),
            Some((head, rest)) => {
                if let Value::Object(map) = v {
                    let found = map.get(head.as_str()).or_else(|| {
                        map.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(head))
                            .map(|(_, v)| v)
                    });
                    if let Some(child) = found {
                        collect(child, rest, out);
                    }
                }
            }
        },
    }
}

fn leaf_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s.to_lowercase()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn literal_text(l: &Literal) -> String {
    match l {
        Literal::Text(t) => t.to_lowercase(),
        Literal::Number(n) => n.to_string(),
        Literal::Bool(b) => b.to_string(),
    }
}

fn compare(leaf: &Value, op: Op, lit: &Literal) -> bool {
    let Some(text) = leaf_text(leaf) else {
        return false;
    };
    let lit_text = literal_text(lit);
    if op == Op::Contains {
        return text.contains(&lit_text);
    }
    let leaf_num = match leaf {
        Value::Number(n) => n.as_f64(),
        _ => None,
    };
    let lit_num = match lit {
        Literal::Number(n) => Some(*n),
        Literal::Text(t) => t.trim().parse::<f64>().ok(),
        Literal::Bool(_) => None,
    };
    let ord = match (leaf_num, lit_num) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => Some(text.cmp(&lit_text)),
    };
    let Some(ord) = ord else {
        return false;
    };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Contains => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact() -> Value {
        json!({
            "name": {"given_name": "Anna", "surname": "Schmidt"},
            "company": "Muster GmbH",
            "department": null,
            "categories": ["Vertrieb", "VIP Kunde"],
            "emails": [{"kind": "business", "address": "anna@kunde.example"},
                       {"kind": "private", "address": "anna@privat.example"}],
            "employees": 42,
            "active": true,
            "birthday": "1980-05-17"
        })
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let nested = |n: usize| format!("{}a = 1{}", "(".repeat(n), ")".repeat(n));
        assert!(Filter::parse(&nested(MAX_DEPTH)).is_ok());
        assert!(matches!(
            Filter::parse(&nested(MAX_DEPTH + 1)),
            Err(FilterError::TooDeep {
                limit: MAX_DEPTH,
                ..
            })
        ));
        let nots = |n: usize| format!("{}a = 1", "NOT ".repeat(n));
        assert!(Filter::parse(&nots(MAX_DEPTH)).is_ok());
        assert!(matches!(
            Filter::parse(&nots(3000)),
            Err(FilterError::TooDeep { .. })
        ));
        // Depth counts nesting, not the number of groups side by side.
        let wide = vec!["(a = 1)"; 1000].join(" OR ");
        assert!(Filter::parse(&wide).is_ok());
        assert!(matches!(
            Filter::parse(&"a = 1 OR ".repeat(4000)),
            Err(FilterError::TooLong { .. })
        ));
    }

    #[test]
    fn expressions_match_as_documented() {
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("   ", true),
            ("company = 'Muster GmbH'", true),
            ("company = 'muster gmbh'", true),
            ("company == 'Muster GmbH'", true),
            ("company = 'Other'", false),
            ("company != ''", true),
            ("department != ''", false),
            ("department = ''", true),
            ("missing = ''", true),
            ("missing != ''", false),
            ("name.surname = 'Schmidt'", true),
            ("NAME.SURNAME = 'schmidt'", true),
            ("company ~ 'gmbh'", true),
            ("company ~ 'AG'", false),
            ("#Vertrieb", true),
            ("#vertrieb", true),
            ("#'VIP Kunde'", true),
            ("#Einkauf", false),
            ("categories = 'VIP Kunde'", true),
            ("categories != 'Vertrieb'", false),
            ("categories != 'Einkauf'", true),
            ("emails.address = 'anna@privat.example'", true),
            ("emails.kind = 'other'", false),
            ("employees > 40", true),
            ("employees >= 42", true),
            ("employees < 42", false),
            ("employees <= '42'", true),
            ("employees = 42", true),
            ("employees <> 42", false),
            ("active = true", true),
            ("active = false", false),
            ("birthday >= '1980-01-01' AND birthday < '1981-01-01'", true),
            ("birthday > '1980-05-17'", false),
            ("#Einkauf OR company ~ 'muster'", true),
            ("#Einkauf or company ~ 'nope'", false),
            ("#Vertrieb AND NOT #Einkauf", true),
            ("not (#Vertrieb and #'VIP Kunde')", false),
            ("(#Einkauf OR #Vertrieb) AND name.given_name = 'Anna'", true),
            ("#Einkauf OR #Vertrieb AND name.given_name = 'Bert'", false),
            ("company = 'O''Brien'", false),
        ];
        let record = contact();
        for (text, expected) in cases {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(f.matches(&record), *expected, "filter {text:?}");
        }
    }

    #[test]
    fn doubled_quote_is_a_quote() {
        let f = Filter::parse("company = 'O''Brien & Co'").unwrap();
        assert!(f.matches(&json!({"company": "O'Brien & Co"})));
    }

    #[test]
    fn bad_filters_report_where() {
        let cases: &[(&str, Option<usize>, &str)] = &[
            ("company = 'x", Some(10), "closing quote"),
            ("company 'x'", Some(8), "comparison operator"),
            ("company =", None, "end of the filter"),
            ("company = 'x' AND", None, "end of the filter"),
            ("(company = 'x'", None, "')'"),
            ("company = 'x' company = 'y'", Some(14), "AND, OR"),
            ("company = x", Some(10), "a value"),
            ("company $ 'x'", Some(8), "unexpected character"),
            ("#", None, "category"),
            ("AND company = 'x'", Some(0), "a field"),
        ];
        for (text, position, message) in cases {
            let err = Filter::parse(text).expect_err(text);
            assert_eq!(err.position(), *position, "{text}: {err}");
            assert!(err.to_string().contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn defaults_make_new_records_match() {
        // (filter, record before, record after, complete)
        let cases: &[(&str, Value, Value, bool)] = &[
            ("", json!({"a": 1}), json!({"a": 1}), true),
            (
                "#Exchange AND kategorie = 'Kunde'",
                json!({"categories": [], "kategorie": null}),
                json!({"categories": ["Exchange"], "kategorie": "Kunde"}),
                true,
            ),
            (
                "#exchange",
                json!({"categories": ["Exchange"]}),
                json!({"categories": ["Exchange"]}),
                true,
            ),
            (
                "#'VIP Kunde'",
                json!({}),
                json!({"categories": ["VIP Kunde"]}),
                true,
            ),
            (
                "name.surname = 'Meier' AND employees = 42 AND active = true",
                json!({"name": {"surname": "X"}}),
                json!({"name": {"surname": "Meier"}, "employees": 42, "active": true}),
                true,
            ),
            (
                "company ~ 'GmbH'",
                json!({"company": ""}),
                json!({"company": "GmbH"}),
                true,
            ),
            (
                "tags ~ 'x'",
                json!({"tags": ["a"]}),
                json!({"tags": ["a", "x"]}),
                true,
            ),
            // A non-empty scalar is not overwritten by a contains term: no match, checked later.
            (
                "company ~ 'GmbH'",
                json!({"company": "Beta AG"}),
                json!({"company": "Beta AG"}),
                true,
            ),
            // Paths through a list of objects cannot be set.
            (
                "emails.address = 'a@b.example'",
                json!({"emails": [{"address": "x@y.example"}]}),
                json!({"emails": [{"address": "x@y.example"}]}),
                true,
            ),
            (
                "kategorie != 'Kunde'",
                json!({"kategorie": "Kunde"}),
                json!({"kategorie": "Kunde"}),
                false,
            ),
            ("#A OR #B", json!({}), json!({}), false),
            (
                "#A AND NOT #B",
                json!({}),
                json!({"categories": ["A"]}),
                false,
            ),
            (
                "start >= '2026-01-01' AND #A",
                json!({}),
                json!({"categories": ["A"]}),
                false,
            ),
        ];
        for (text, before, after, complete) in cases {
            let f = Filter::parse(text).unwrap();
            let d = f.defaults();
            let mut record = before.clone();
            d.apply(&mut record);
            assert_eq!(&record, after, "filter {text:?}");
            assert_eq!(
                d.is_complete(),
                *complete,
                "filter {text:?}: {:?}",
                d.unsatisfiable()
            );
        }
        let d = Filter::parse("#A AND (x = 1 OR y = 2) AND z != 'q'")
            .unwrap()
            .defaults();
        assert_eq!(d.unsatisfiable(), ["(x = 1 OR y = 2)", "z != 'q'"]);
        assert_eq!(d.describe(), ["categories = \"A\""]);
    }

    #[test]
    fn empty_filter_is_all() {
        assert!(Filter::parse(" ").unwrap().is_all());
        assert!(!Filter::parse("#x").unwrap().is_all());
        assert_eq!(Filter::parse("#x").unwrap().source(), "#x");
    }
}
