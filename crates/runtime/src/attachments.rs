//! Step 7 of the pipeline: images attached without a description are described by the agent's
//! IMAGE_DESCRIPTION model before the turn goes on, so the dialogue and the ATTACHMENTS provider
//! can mention what they show. A failure leaves the attachment as it was.

use crate::agent::AgentRuntime;
use crate::templates::{TemplateName, template};
use crate::turn::Turn;
use eliza_models::ModelType;
use serde_json::{Map, Value, json};

/// Whether the attachment is an image nobody described yet, at a URL a model server can fetch.
fn needs_description(attachment: &Map<String, Value>) -> bool {
    let field = |key: &str| attachment.get(key).and_then(Value::as_str).unwrap_or("");
    let is_image = field("contentType")
        .to_ascii_lowercase()
        .starts_with("image");
    let url = field("url");
    let reachable =
        url.starts_with("http://") || url.starts_with("https://") || url.starts_with("data:");
    is_image && reachable && field("description").is_empty()
}

/// Describes the turn's undescribed images and saves the updated memory.
pub async fn describe_images(runtime: &AgentRuntime, turn: &mut Turn) {
    if runtime.model(ModelType::ImageDescription).is_none() {
        return;
    }
    let Some(Value::Array(attachments)) = turn.message.content.get("attachments").cloned() else {
        return;
    };
    let character = runtime.character();
    let prompt = template(TemplateName::ImageDescription, &character.templates).to_owned();
    let mut changed = false;
    let mut described = Vec::with_capacity(attachments.len());
    for attachment in attachments {
        let Value::Object(mut attachment) = attachment else {
            described.push(attachment);
            continue;
        };
        if needs_description(&attachment) {
            let url = attachment
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            match runtime
                .describe_image(&url, prompt.clone(), Some(turn))
                .await
            {
                Ok(description) => {
                    attachment.insert("title".into(), json!(description.title));
                    attachment.insert("description".into(), json!(description.description));
                    attachment.insert("text".into(), json!(description.description));
                    changed = true;
                }
                Err(err) => {
                    tracing::warn!(agent = %runtime.id, %err, "could not describe an attached image");
                }
            }
        }
        described.push(Value::Object(attachment));
    }
    if !changed {
        return;
    }
    if let Some(content) = turn.message.content.as_object_mut() {
        content.insert("attachments".into(), Value::Array(described));
    }
    if let Err(err) = runtime.store.update_memory(&turn.message).await {
        tracing::warn!(agent = %runtime.id, %err, "could not save the image descriptions");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn only_reachable_undescribed_images_are_described() {
        assert!(needs_description(&attachment(
            json!({"url": "https://x/a.png", "contentType": "image/png"})
        )));
        assert!(needs_description(&attachment(
            json!({"url": "data:image/png;base64,AA", "contentType": "image"})
        )));
        assert!(!needs_description(&attachment(
            json!({"url": "/media/a.png", "contentType": "image"})
        )));
        assert!(!needs_description(&attachment(
            json!({"url": "https://x/a.pdf", "contentType": "document"})
        )));
        assert!(!needs_description(&attachment(
            json!({"url": "https://x/a.png", "contentType": "image", "description": "a cat"})
        )));
    }
}
