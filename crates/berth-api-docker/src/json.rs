//! Request bodies decoded as dockerd's Go `encoding/json` decodes them, which clients rely on:
//! object keys match struct fields case-insensitively (`detachKeys` is `DetachKeys`, compose
//! and the SDKs send both spellings), and `null` for a field means the field is absent (the
//! Python SDK sends `"StartPeriod": null`, `"IPRange": null`). Unknown fields are ignored, as
//! serde does already.
//!
//! A [`Deserializer`] over a parsed [`Value`]: only structs are special (keys mapped onto the
//! struct's field names, null members dropped); maps, sequences and options pass their
//! elements through the same wrapper, so the rules hold at every depth.

use serde::de::value::StringDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// Decodes a request body; an empty body is an empty object (Go's decoder leaves zero values).
pub fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body)?
    };
    T::deserialize(Go(value))
}

struct Go(Value);

impl Go {
    fn visit_object<'de, V: Visitor<'de>>(
        map: Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        visitor.visit_map(Members {
            iter: map.into_iter(),
            value: None,
        })
    }
}

impl<'de> de::Deserializer<'de> for Go {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => Self::visit_object(map, visitor),
            Value::Array(items) => visitor.visit_seq(Elements(items.into_iter())),
            leaf => leaf.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            value => visitor.visit_some(Go(value)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let Value::Object(map) = self.0 else {
            return self.deserialize_any(visitor);
        };
        let mut members = Map::with_capacity(map.len());
        let mut folded = Vec::new();
        for (key, value) in map {
            if value.is_null() {
                continue;
            }
            if fields.contains(&key.as_str()) {
                members.insert(key, value);
            } else if let Some(field) = fields.iter().find(|f| f.eq_ignore_ascii_case(&key)) {
                folded.push((*field, value));
            } else {
                members.insert(key, value);
            }
        }
        // A key spelled exactly as the field wins over one equal but for case (the parsed
        // object has lost the document order Go's last-one-wins would follow).
        for (field, value) in folded {
            members.entry(field).or_insert(value);
        }
        Self::visit_object(members, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct Members {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> de::MapAccess<'de> for Members {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let key: StringDeserializer<serde_json::Error> = key.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(Go(self.value.take().unwrap_or(Value::Null)))
    }
}

struct Elements(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for Elements {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0.next().map(|v| seed.deserialize(Go(v))).transpose()
    }
}

#[cfg(test)]
mod tests;
