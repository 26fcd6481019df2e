// The registry's entities as CSV files see them: the import order (parents first) and each file's columns.
// References between files use codes (district_code, compound_code ...), never database ids.
export const ENTITIES = [
  'districts',
  'streets',
  'compounds',
  'compound_adjacency',
  'buildings',
  'households',
  'persons',
  'venues',
  'sampling_points',
  'labs',
  'facilities',
] as const;
export type EntityName = (typeof ENTITIES)[number];

/** CSV columns of each entity, in the order the synthetic city writes them. Lists inside a cell are ';'-separated. */
export const CSV_COLUMNS: Record<EntityName, readonly string[]> = {
  districts: ['code', 'name', 'name_en', 'population', 'geometry'],
  streets: ['code', 'district_code', 'name', 'name_en', 'geometry'],
  compounds: ['code', 'street_code', 'name', 'geometry', 'centroid_lon', 'centroid_lat', 'population'],
  compound_adjacency: ['compound_code', 'neighbor_code'],
  buildings: ['code', 'compound_code', 'name', 'floors'],
  households: ['code', 'building_code', 'floor', 'unit', 'shared_facilities'],
  persons: ['id_number', 'name', 'sex', 'birth_date', 'phone', 'household_code', 'compound_code', 'comorbidities', 'pregnancy', 'care_needs'],
  venues: ['code', 'name', 'kind', 'district_code', 'street_code', 'compound_code', 'lon', 'lat', 'popularity'],
  sampling_points: ['code', 'name', 'district_code', 'street_code', 'lon', 'lat', 'stations', 'opens', 'closes', 'vaccinates'],
  labs: ['code', 'name', 'district_code', 'daily_capacity'],
  facilities: ['code', 'name', 'kind', 'district_code', 'lon', 'lat', 'beds_general', 'beds_icu', 'rooms'],
};

/** Vocabularies the registry accepts (the preset's triage rules refer to the same names). */
export const COMORBIDITIES = ['hypertension', 'cardiovascular', 'cerebrovascular', 'chronicLung', 'diabetes', 'chronicLiver', 'chronicKidney', 'cancer', 'immuneDeficiency', 'obesity'] as const;
export const CARE_NEEDS = ['dialysis', 'chemotherapy', 'oxygen', 'wheelchair', 'bedridden'] as const;
export const PREGNANCY = ['none', 'early', 'late', 'perinatal'] as const;
export const VENUE_KINDS = ['supermarket', 'market', 'restaurant', 'transit', 'office', 'school', 'hospital', 'pharmacy', 'gym', 'other'] as const;
export const FACILITY_KINDS = ['designatedHospital', 'shelterHospital', 'quarantineSite'] as const;

/** One CSV row, by column name, as text (empty string = no value). */
export type CsvRecord = Record<string, string>;

export interface ImportOptions {
  /** Keep the good rows when some are bad (default: all-or-nothing). */
  partial?: boolean;
  /** Called now and then with rows read so far. */
  onProgress?: (rowsRead: number) => void;
  /** Who imports (for the audit log); default 'system'. */
  actor?: { actor: string; role: string | null };
  /** Accept only rows inside this district (a district user's import). */
  districtId?: number | null;
  /** Read and check the file in a worker thread: by default when it is large (some megabytes) and a
   * worker is free; true or false to choose (tests). The report and the rows are the same either way. */
  worker?: boolean;
}

export interface ImportReport {
  entity: EntityName;
  /** Rows read from the input (header excluded). */
  read: number;
  /** New records written. */
  inserted: number;
  /** Rows that matched an existing record (persons: same ID number) and updated it. */
  matched: number;
  /** Bad rows with their line number in the file (the header is line 1) and why. */
  rejected: { line: number; reason: string }[];
  /** All bad rows, when there are more than the list holds (it stops at 1000). */
  rejectedCount?: number;
  /** False when nothing was written because some rows were bad and `partial` was not set. */
  committed: boolean;
}
