//! Reading a CTranslate2 `model.bin`: an index of its variables first (names, shapes, types, where the
//! bytes are), then one variable at a time, so a multi-gigabyte model never sits in memory whole.
//!
//! Layout (binary versions 4 to 6, every integer little-endian): u32 version, string spec name, u32
//! spec revision, u32 variable count, then per variable: string name, u8 rank, u32 × rank shape, u8
//! dtype, u32 byte count, the bytes; then u32 alias count and (alias, target) string pairs. A string
//! is a u16 length that counts its trailing NUL, the UTF-8 bytes and the NUL.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::half::{bf16_to_f32, f16_to_f32};
use super::ImportError;

/// The element types CTranslate2 stores, numbered as its `DataType` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Dtype {
    fn from_id(id: u8) -> Option<Dtype> {
        Some(match id {
            0 => Dtype::F32,
            1 => Dtype::I8,
            2 => Dtype::I16,
            3 => Dtype::I32,
            4 => Dtype::F16,
            5 => Dtype::Bf16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::I8 => 1,
            Dtype::I16 | Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::F32 | Dtype::I32 => 4,
        }
    }
}

/// One variable's place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub shape: Vec<usize>,
    pub dtype: Dtype,
    offset: u64,
    bytes: usize,
}

impl Variable {
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// An open `model.bin` and its index.
pub struct Ct2Model {
    path: PathBuf,
    file: BufReader<File>,
    pub spec: String,
    pub revision: u32,
    variables: HashMap<String, Variable>,
    aliases: HashMap<String, String>,
}

/// Values as stored: half-precision models keep their bits so they can be copied without rounding.
pub enum Values {
    F16(Vec<u16>),
    F32(Vec<f32>),
}

impl Ct2Model {
    pub fn open(path: &Path) -> Result<Ct2Model, ImportError> {
        let io = |source| ImportError::Io { path: path.into(), source };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut r = Reader { inner: BufReader::new(file), path: path.into() };
        let version = r.u32()?;
        if !(4..=6).contains(&version) {
            return Err(ImportError::Format {
                path: path.into(),
                why: format!("CTranslate2 binary version {version}; only versions 4 to 6 (CTranslate2 2.x to 4.x) are known"),
            });
        }
        let spec = r.string()?;
        let revision = r.u32()?;
        let count = r.u32()?;
        let mut variables = HashMap::new();
        for _ in 0..count {
            let name = r.string()?;
            let rank = r.u8()?;
            let mut shape = Vec::with_capacity(rank as usize);
            for _ in 0..rank {
                shape.push(r.u32()? as usize);
            }
            let id = r.u8()?;
            let dtype = Dtype::from_id(id).ok_or_else(|| r.bad(format!("variable {name} has unknown type {id}")))?;
            let bytes = r.u32()? as usize;
            let elements: usize = shape.iter().product();
            if elements * dtype.size() != bytes {
                return Err(r.bad(format!("variable {name}: {bytes} bytes for shape {shape:?} of {dtype:?}")));
            }
            let offset = r.position()?;
            if offset + bytes as u64 > len {
                return Err(r.bad(format!("variable {name} runs past the end of the file (truncated?)")));
            }
            r.skip(bytes as i64)?;
            variables.insert(name, Variable { shape, dtype, offset, bytes });
        }
        let mut aliases = HashMap::new();
        for _ in 0..r.u32()? {
            let alias = r.string()?;
            let target = r.string()?;
            aliases.insert(alias, target);
        }
        Ok(Ct2Model { path: path.into(), file: r.inner, spec, revision, variables, aliases })
    }

    /// A variable by name, following one alias.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.get(name).or_else(|| self.aliases.get(name).and_then(|t| self.variables.get(t)))
    }

    /// Names of all stored variables (aliases not included).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.variables.keys().map(String::as_str)
    }

    fn require(&self, name: &str) -> Result<&Variable, ImportError> {
        self.variable(name).ok_or_else(|| ImportError::Format {
            path: self.path.clone(),
            why: format!("no variable {name}: not a CTranslate2 whisper model, or an unknown revision of one"),
        })
    }

    /// A small integer (head counts are stored as scalars).
    pub fn scalar(&mut self, name: &str) -> Result<i64, ImportError> {
        let v = self.require(name)?.clone();
        let raw = self.raw(&v)?;
        Ok(match v.dtype {
            Dtype::I8 => raw[0] as i8 as i64,
            Dtype::I16 => i16::from_le_bytes([raw[0], raw[1]]) as i64,
            Dtype::I32 => i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as i64,
            other => return Err(self.bad(format!("{name} is {other:?}, expected an integer"))),
        })
    }

    /// A weight's values, dequantized when CTranslate2 stored it as int8 or int16 with a `<name>_scale`.
    pub fn values(&mut self, name: &str) -> Result<Values, ImportError> {
        let v = self.require(name)?.clone();
        let raw = self.raw(&v)?;
        let halves = || raw.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        Ok(match v.dtype {
            Dtype::F16 => Values::F16(halves().collect()),
            Dtype::F32 => Values::F32(raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()),
            Dtype::Bf16 => Values::F32(halves().map(bf16_to_f32).collect()),
            Dtype::I8 | Dtype::I16 => {
                let ints: Vec<f32> = if v.dtype == Dtype::I8 {
                    raw.iter().map(|&b| b as i8 as f32).collect()
                } else {
                    halves().map(|h| h as i16 as f32).collect()
                };
                Values::F32(self.dequantize(name, &v, ints)?)
            }
            Dtype::I32 => return Err(self.bad(format!("{name} is int32, expected a weight"))),
        })
    }

    /// Values as f32, whatever their storage.
    pub fn f32_values(&mut self, name: &str) -> Result<Vec<f32>, ImportError> {
        Ok(match self.values(name)? {
            Values::F32(v) => v,
            Values::F16(v) => v.into_iter().map(f16_to_f32).collect(),
        })
    }

    /// CTranslate2 quantizes per output row (int8: one scale per row) or per tensor (int16: one
    /// scale); the stored integer is the value times the scale.
    fn dequantize(&mut self, name: &str, v: &Variable, ints: Vec<f32>) -> Result<Vec<f32>, ImportError> {
        let scale_name = format!("{name}_scale");
        let scales = match self.f32_values(&scale_name) {
            Ok(s) => s,
            Err(_) => return Err(self.bad(format!("{name} is quantized but has no {scale_name}"))),
        };
        let rows = v.shape.first().copied().unwrap_or(1);
        if scales.len() != 1 && scales.len() != rows {
            return Err(self.bad(format!("{scale_name} has {} values for {rows} rows", scales.len())));
        }
        let per_row = v.elements() / rows.max(1);
        Ok(ints
            .into_iter()
            .enumerate()
            .map(|(i, q)| {
                let s = if scales.len() == 1 { scales[0] } else { scales[i / per_row] };
                q / s
            })
            .collect())
    }

    fn raw(&mut self, v: &Variable) -> Result<Vec<u8>, ImportError> {
        let io = |source| ImportError::Io { path: self.path.clone(), source };
        self.file.seek(SeekFrom::Start(v.offset)).map_err(io)?;
        let mut buf = vec![0u8; v.bytes];
        self.file.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }

    fn bad(&self, why: String) -> ImportError {
        ImportError::Format { path: self.path.clone(), why }
    }
}

/// Little-endian primitives over the file, with errors that name it.
struct Reader {
    inner: BufReader<File>,
    path: PathBuf,
}

impl Reader {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], ImportError> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b).map_err(|e| self.eof_or_io(e))?;
        Ok(b)
    }

    fn eof_or_io(&self, e: std::io::Error) -> ImportError {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => self.bad("the file ends early (truncated?)".into()),
            _ => ImportError::Io { path: self.path.clone(), source: e },
        }
    }

    fn u8(&mut self) -> Result<u8, ImportError> {
        Ok(self.bytes::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, ImportError> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn string(&mut self) -> Result<String, ImportError> {
        let len = u16::from_le_bytes(self.bytes()?) as usize;
        let mut buf = vec![0u8; len];
        self.inner.read_exact(&mut buf).map_err(|e| self.eof_or_io(e))?;
        if buf.pop() != Some(0) {
            return Err(self.bad("a name is not NUL-terminated (not a CTranslate2 model?)".into()));
        }
        String::from_utf8(buf).map_err(|_| self.bad("a name is not UTF-8 (not a CTranslate2 model?)".into()))
    }

    fn position(&mut self) -> Result<u64, ImportError> {
        self.inner.stream_position().map_err(|source| ImportError::Io { path: self.path.clone(), source })
    }

    fn skip(&mut self, n: i64) -> Result<(), ImportError> {
        self.inner.seek_relative(n).map_err(|source| ImportError::Io { path: self.path.clone(), source })
    }

    fn bad(&self, why: String) -> ImportError {
        ImportError::Format { path: self.path.clone(), why }
    }
}
