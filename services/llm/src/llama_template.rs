//! The last resort for a chat template Hearth cannot render: llama.cpp's own support
//! (`llama_chat_apply_template`), which recognises some forty template families by their text and writes
//! their turn markup itself. It knows nothing of tools, so a model prompted this way answers without them.

use std::ffi::{c_char, CString};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LlamaTemplateError {
    #[error("llama.cpp does not recognise this chat template either")]
    Unknown,
    #[error("text with a NUL byte cannot be passed to llama.cpp")]
    Nul,
    #[error("llama.cpp wrote a prompt that is not UTF-8")]
    Utf8,
}

/// A template llama.cpp renders by recognising its family.
pub struct LlamaCppTemplate {
    template: CString,
}

impl LlamaCppTemplate {
    /// Accepts `template` only if llama.cpp recognises it.
    pub fn new(template: &str) -> Result<LlamaCppTemplate, LlamaTemplateError> {
        let t = LlamaCppTemplate { template: CString::new(template).map_err(|_| LlamaTemplateError::Nul)? };
        t.render(&[("user", "probe")])?;
        Ok(t)
    }

    /// The prompt for `messages` (role, content), ending with the assistant's turn opened.
    pub fn render(&self, messages: &[(&str, &str)]) -> Result<String, LlamaTemplateError> {
        let owned: Vec<(CString, CString)> = messages
            .iter()
            .map(|(r, c)| Ok((CString::new(*r)?, CString::new(*c)?)))
            .collect::<Result<_, std::ffi::NulError>>()
            .map_err(|_| LlamaTemplateError::Nul)?;
        let chat: Vec<llama_cpp_sys_2::llama_chat_message> =
            owned.iter().map(|(r, c)| llama_cpp_sys_2::llama_chat_message { role: r.as_ptr(), content: c.as_ptr() }).collect();
        let mut buf: Vec<u8> = vec![0; 2 * messages.iter().map(|(r, c)| r.len() + c.len() + 16).sum::<usize>() + 256];
        for _ in 0..2 {
            let len = i32::try_from(buf.len()).map_err(|_| LlamaTemplateError::Unknown)?;
            // SAFETY: every pointer stays valid for the call (`owned`, `chat`, `buf` outlive it), `len` is the
            // buffer's true size, and llama.cpp writes at most `len` bytes.
            let n = unsafe {
                llama_cpp_sys_2::llama_chat_apply_template(
                    self.template.as_ptr(),
                    chat.as_ptr(),
                    chat.len(),
                    true,
                    buf.as_mut_ptr().cast::<c_char>(),
                    len,
                )
            };
            if n < 0 {
                return Err(LlamaTemplateError::Unknown);
            }
            let n = n as usize;
            if n <= buf.len() {
                buf.truncate(n);
                return String::from_utf8(buf).map_err(|_| LlamaTemplateError::Utf8);
            }
            buf.resize(n, 0);
        }
        Err(LlamaTemplateError::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_family_it_recognises_and_refuses_others() {
        let t = LlamaCppTemplate::new("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | wordcount }}<|im_end|>\n{% endfor %}").unwrap();
        assert_eq!(
            t.render(&[("system", "Be brief."), ("user", "Hi")]).unwrap(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert!(LlamaCppTemplate::new("{{ nothing anyone knows }}").is_err());
    }
}
