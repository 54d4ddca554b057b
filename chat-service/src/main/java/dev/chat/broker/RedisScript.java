package dev.chat.broker;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** A Lua script shipped on the classpath, with the SHA-1 that EVALSHA names it by. */
record RedisScript(String name, String source, String sha1) {

  static final RedisScript PUBLISH = load("publish");
  static final RedisScript JOIN = load("join");
  static final RedisScript LEAVE = load("leave");
  static final RedisScript LEASE = load("lease");
  static final RedisScript ACQUIRE = load("acquire");
  static final RedisScript RELEASE = load("release");
  static final RedisScript HISTORY = load("history");
  static final RedisScript CHANGE = load("change");
  static final RedisScript READ = load("read");
  static final RedisScript SEEN = load("seen");
  static final RedisScript READS = load("reads");

  private static RedisScript load(String name) {
    String path = "/lua/" + name + ".lua";
    try (InputStream in = RedisScript.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing script " + path);
      }
      String source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      byte[] digest =
          MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
      return new RedisScript(name, source, HexFormat.of().formatHex(digest));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
