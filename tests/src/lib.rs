//! End-to-end tests of the connector live in `tests/tests/`; this library holds their shared
//! fixtures.
