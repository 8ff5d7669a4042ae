//! Web satellite tests: the HTTPS page, the login, and one browser session bridged to a real broker.

mod bridge;
