package dev.chat.testing;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Makes JSON Web Tokens for tests, good and deliberately bad, with the JDK's own crypto (not the
 * code under test): HS256 with a secret, RS256 and ES256 with generated key pairs, unsigned ones,
 * and the public keys as PEM or JWK.
 */
public final class Jwts {

  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  private Jwts() {}

  /** Claims for {@code sub} expiring {@code ttl} from now. */
  public static JsonObject claims(String sub, Duration ttl) {
    return new JsonObject().put("sub", sub).put("exp", Instant.now().plus(ttl).getEpochSecond());
  }

  public static String hs256(String secret, JsonObject claims) {
    return hs256(secret, new JsonObject().put("alg", "HS256").put("typ", "JWT"), claims);
  }

  public static String hs256(String secret, JsonObject header, JsonObject claims) {
    String signed = part(header) + "." + part(claims);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return signed
          + "."
          + B64.encodeToString(mac.doFinal(signed.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String rs256(PrivateKey key, JsonObject claims) {
    return rs256(key, new JsonObject().put("alg", "RS256").put("typ", "JWT"), claims);
  }

  public static String rs256(PrivateKey key, JsonObject header, JsonObject claims) {
    return signed(header, claims, "SHA256withRSA", key);
  }

  public static String es256(PrivateKey key, JsonObject header, JsonObject claims) {
    return signed(header, claims, "SHA256withECDSAinP1363Format", key);
  }

  /** {@code alg: none} with an empty signature, as RFC 7519 §6 writes an unsecured JWT. */
  public static String unsigned(JsonObject claims) {
    return part(new JsonObject().put("alg", "none").put("typ", "JWT")) + "." + part(claims) + ".";
  }

  public static KeyPair rsaKeyPair() {
    return generate("RSA", 2048);
  }

  public static KeyPair ecKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The public key as a PEM {@code PUBLIC KEY} block (SubjectPublicKeyInfo). */
  public static String pem(PublicKey key) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(key.getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
  }

  /** The public key as a JWK with {@code kid}. */
  public static JsonObject jwk(PublicKey key, String kid) {
    JsonObject jwk = new JsonObject().put("kid", kid).put("use", "sig");
    if (key instanceof RSAPublicKey rsa) {
      return jwk.put("kty", "RSA")
          .put("alg", "RS256")
          .put("n", unsigned(rsa.getModulus(), 0))
          .put("e", unsigned(rsa.getPublicExponent(), 0));
    }
    ECPublicKey ec = (ECPublicKey) key;
    return jwk.put("kty", "EC")
        .put("crv", "P-256")
        .put("alg", "ES256")
        .put("x", unsigned(ec.getW().getAffineX(), 32))
        .put("y", unsigned(ec.getW().getAffineY(), 32));
  }

  public static JsonObject jwks(JsonObject... keys) {
    return new JsonObject().put("keys", new JsonArray(Arrays.asList((Object[]) keys)));
  }

  /** The token with one character of its signature changed. */
  public static String tampered(String token) {
    int last = token.length() - 2;
    char c = token.charAt(last);
    return token.substring(0, last) + (c == 'A' ? 'B' : 'A') + token.charAt(last + 1);
  }

  private static String signed(
      JsonObject header, JsonObject claims, String algorithm, PrivateKey key) {
    String signed = part(header) + "." + part(claims);
    try {
      Signature s = Signature.getInstance(algorithm);
      s.initSign(key);
      s.update(signed.getBytes(StandardCharsets.US_ASCII));
      return signed + "." + B64.encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String part(JsonObject json) {
    return B64.encodeToString(json.encode().getBytes(StandardCharsets.UTF_8));
  }

  private static String unsigned(BigInteger n, int length) {
    byte[] bytes = n.toByteArray();
    if (bytes.length > 1 && bytes[0] == 0) {
      bytes = Arrays.copyOfRange(bytes, 1, bytes.length);
    }
    if (bytes.length < length) {
      byte[] padded = new byte[length];
      System.arraycopy(bytes, 0, padded, length - bytes.length, bytes.length);
      bytes = padded;
    }
    return B64.encodeToString(bytes);
  }

  private static KeyPair generate(String type, int bits) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(type);
      g.initialize(bits);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
