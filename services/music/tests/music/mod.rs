mod index;
mod radio;
mod turn;
mod util;
