// Distances between places, and the order in which the city shares its beds and rooms (全市一盘棋):
// the person's own district first, then the nearest place.

/** Great-circle distance in metres. */
export function distanceMetres(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.sqrt(h));
}

export interface Place {
  districtId: number | null;
  lon: number | null;
  lat: number | null;
}

/** `places` sorted for someone at `from`: own district first, then by distance (a copy; stable). */
export function ownDistrictThenNearest<T extends { districtId: number; lon: number; lat: number }>(places: T[], from: Place): T[] {
  const at = from.lon !== null && from.lat !== null ? { lon: from.lon, lat: from.lat } : null;
  const dist = (p: T) => (at ? distanceMetres(at, p) : 0);
  return places
    .map((p) => ({ p, own: p.districtId === from.districtId ? 0 : 1, d: dist(p) }))
    .sort((a, b) => a.own - b.own || a.d - b.d)
    .map((x) => x.p);
}
