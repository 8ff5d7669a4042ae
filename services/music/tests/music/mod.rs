mod index;
mod turn;
mod util;
