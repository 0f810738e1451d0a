/** The roles the Data API serves requests as: with the public anon key, and with a signed-in user's key. */
export const API_ROLES: readonly string[] = ['anon', 'authenticated'];
