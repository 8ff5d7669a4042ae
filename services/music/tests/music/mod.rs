mod util;
mod index;
