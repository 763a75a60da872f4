package io.cacheai.graph;

import java.util.Map;
import java.util.TreeMap;

/**
 * A node's attributes by name: {@code Long}, {@code Float}, {@code String}, {@code long[]}, {@code
 * float[]} or {@link ConstTensor}. Typed getters fail with the attribute's name.
 */
public final class Attributes {
  private final Map<String, Object> values;

  public Attributes(Map<String, Object> values) {
    this.values = new TreeMap<>(values);
  }

  public boolean has(String name) {
    return values.containsKey(name);
  }

  public long getLong(String name, long defaultValue) {
    return has(name) ? get(name, Long.class) : defaultValue;
  }

  public float getFloat(String name, float defaultValue) {
    return has(name) ? get(name, Float.class) : defaultValue;
  }

  public String getString(String name, String defaultValue) {
    return has(name) ? get(name, String.class) : defaultValue;
  }

  /** An INTS attribute, or {@code null} when absent. */
  public long[] getLongs(String name) {
    return has(name) ? get(name, long[].class).clone() : null;
  }

  public ConstTensor getTensor(String name) {
    return get(name, ConstTensor.class);
  }

  /**
   * The raw value of attribute {@code name} (one of the types listed above), for code that copies
   * attributes generically, such as a serializer.
   */
  public Object value(String name) {
    return get(name, Object.class);
  }

  /** The attribute names, sorted. */
  public Iterable<String> names() {
    return values.keySet();
  }

  private <T> T get(String name, Class<T> type) {
    Object value = values.get(name);
    if (value == null) {
      throw new IllegalArgumentException("attribute '" + name + "' is missing");
    }
    if (!type.isInstance(value)) {
      throw new IllegalArgumentException(
          "attribute '"
              + name
              + "' is a "
              + value.getClass().getSimpleName()
              + ", expected "
              + type.getSimpleName());
    }
    return type.cast(value);
  }

  @Override
  public String toString() {
    return values.keySet().toString();
  }
}
