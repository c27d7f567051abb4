import type { Role, User } from "../entities";

/** What anyone signed in may see of a user. */
export interface UserPublicView {
  id: string;
  displayName: string;
  role: Role;
  isGuest: boolean;
  createdAt: string;
}

/** What the user (or an admin) sees: the public view plus contact details. */
export interface UserSelfView extends UserPublicView {
  email?: string;
  emailVerified: boolean;
  phone?: string;
  phoneVerified: boolean;
  /** Preferred language for server texts (BCP 47), or null. */
  locale: string | null;
}

export function toPublicView(user: User): UserPublicView {
  return {
    id: user.id,
    displayName: user.displayName,
    role: user.role,
    isGuest: user.isGuest,
    createdAt: user.createdAt.toISOString(),
  };
}

export function toSelfView(user: User): UserSelfView {
  return {
    ...toPublicView(user),
    ...(user.email ? { email: user.email } : {}),
    emailVerified: !!user.emailVerifiedAt,
    ...(user.phone ? { phone: user.phone } : {}),
    phoneVerified: !!user.phoneVerifiedAt,
    locale: user.locale ?? null,
  };
}
