// Client-side hints that mirror API.md's rules so people learn about a
// mistake before a round trip. The server stays the authority: its 422
// `fields` replace these messages whenever the two disagree.

export const USERNAME_RULE = "3 to 32 characters: letters, digits, _ . and -";
export const PASSWORD_RULE = "At least 8 characters";

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
// One @ with text on both sides, no whitespace or control characters.
// eslint-disable-next-line no-control-regex -- control characters are what is being refused
const EMAIL = /^[^@\s\u0000-\u001f\u007f]+@[^@\s\u0000-\u001f\u007f]+$/;
const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;

/** Counts characters as the server does (code points), not UTF-16 units. */
export function charCount(text: string): number {
  return [...text].length;
}

export function usernameProblem(username: string): string | undefined {
  if (username === "") return "Enter a username.";
  if (!USERNAME.test(username)) return `Use ${USERNAME_RULE.toLowerCase()}.`;
  return undefined;
}

export function passwordProblem(password: string): string | undefined {
  const length = charCount(password);
  if (length === 0) return "Enter a password.";
  if (length < 8) return "Use at least 8 characters.";
  if (length > 256) return "Use at most 256 characters.";
  return undefined;
}

export function confirmationProblem(password: string, confirmation: string): string | undefined {
  if (confirmation === "") return "Type the password again.";
  if (confirmation !== password) return "The two passwords do not match.";
  return undefined;
}

/** An empty email is fine: it is optional. */
export function emailProblem(email: string): string | undefined {
  if (email === "") return undefined;
  if (email.length > 254 || !EMAIL.test(email)) return "Enter an email address like name@example.com, or leave it empty.";
  return undefined;
}

export function roleProblem(role: string): string | undefined {
  return ROLE.test(role)
    ? undefined
    : `"${role}" is not a valid role name: start with a letter, then up to 31 lowercase letters, digits, _ or -.`;
}

export function passkeyNameProblem(name: string): string | undefined {
  const length = charCount(name.trim());
  if (length === 0) return "Give the passkey a name, such as the device that holds it.";
  if (length > 64) return "Use at most 64 characters.";
  return undefined;
}
