import { useState } from "react";
import { avatarUrl } from "../api/account";
import type { UserId } from "../api/admin";
import { useAvatarVersion } from "../lib/avatarVersion";

interface AvatarProps {
  user: { id: UserId; username: string };
  size?: number;
}

/** The user's uploaded picture, or their initial on a coloured disc when they have none. */
export function Avatar({ user, size = 32 }: AvatarProps) {
  const version = useAvatarVersion();
  const src = avatarUrl(user.id, version);
  // Keyed by the URL so a new upload gets a fresh chance after an earlier 404.
  return <AvatarImage key={src} src={src} username={user.username} size={size} />;
}

function AvatarImage({ src, username, size }: { src: string; username: string; size: number }) {
  const [missing, setMissing] = useState(false);
  const style = { width: size, height: size, fontSize: Math.round(size * 0.45) };
  if (missing) {
    return (
      <span className="avatar avatar-initial" style={{ ...style, backgroundColor: colourFor(username) }} aria-hidden="true">
        {username.slice(0, 1).toUpperCase()}
      </span>
    );
  }
  return <img className="avatar" src={src} alt="" width={size} height={size} style={style} onError={() => setMissing(true)} />;
}

// A stable, calm colour per name so people can tell initials apart at a glance.
function colourFor(name: string): string {
  let hash = 0;
  for (const char of name.toLowerCase()) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 35% 42%)`;
}
