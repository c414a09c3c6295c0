//! A generated Workday report with the stored profiles a previous fetch would have left, for
//! benchmarks and load tests (`cargo bench --bench classify`). Rows look like the real
//! report in the Workday pack's test data (about 45 keys, mixed-case emails), and a
//! deterministic share of them are new hires, updates, terminations, AD activations,
//! rehires; some stored profiles have no row (orphans).

use super::{DateFormat, IncomingMap, Profile, RowError, WorkdayParams};
use chrono::{Days, NaiveDate};
use serde_json::{Map, Value};
use std::io::Write;

/// The share of each change among the report's rows (orphans: extra stored profiles).
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    pub new_hires: f64,
    pub updates: f64,
    pub terminations: f64,
    pub ad_activations: f64,
    pub rehires: f64,
    pub orphans: f64,
}

impl Default for Mix {
    /// A busy day in a large company: 2 % new hires, 5 % updates, 1 % terminations,
    /// 0.5 % AD activations, 0.2 % rehires, 0.2 % orphans.
    fn default() -> Self {
        Self {
            new_hires: 0.02,
            updates: 0.05,
            terminations: 0.01,
            ad_activations: 0.005,
            rehires: 0.002,
            orphans: 0.002,
        }
    }
}

/// A report and the stored profiles to classify it against.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The `Report_Entry` rows.
    pub rows: Vec<Value>,
    pub stored: Vec<Profile>,
}

impl Generated {
    /// The report as Workday sends it: `{"Report_Entry": [...]}`.
    pub fn report_json(&self) -> String {
        serde_json::json!({ "Report_Entry": self.rows }).to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    None,
    NewHire,
    Update,
    Termination,
    AdActivation,
    Rehire,
}

/// One generated person: the row today's report has (none for an orphan), the row the
/// previous report had (none for a new hire), and what changed between them.
struct Generation {
    change: Change,
    current: Option<Value>,
    previous: Option<Value>,
}

/// The people of a report of `rows` rows, one at a time (orphans last).
fn people(
    rows: usize,
    mix: &Mix,
    dates: &DateFormat,
    today: NaiveDate,
) -> impl Iterator<Item = Generation> {
    let mix = *mix;
    let dates = dates.clone();
    let mut random = SplitMix(0x5eed_1d3e);
    let orphans = (rows as f64 * mix.orphans).round() as usize;
    (0..rows + orphans).map(move |i| {
        let change = if i >= rows {
            Change::None
        } else {
            pick(random.unit(), &mix)
        };
        let person = Person::new(i, &mut random, today);
        let current = person.row(change, &dates, today);
        let previous = match change {
            Change::None | Change::AdActivation => Some(current.clone()),
            Change::NewHire => None,
            Change::Update | Change::Termination | Change::Rehire => {
                Some(person.row(Change::None, &dates, today))
            }
        };
        Generation {
            change,
            current: (i < rows).then_some(current),
            previous,
        }
    })
}

/// `rows` report rows and their stored profiles. Stored profiles are the rows normalized
/// with `map`, so unchanged rows classify as unchanged.
pub fn generate(
    rows: usize,
    mix: &Mix,
    map: &IncomingMap,
    params: &WorkdayParams,
    today: NaiveDate,
) -> Result<Generated, RowError> {
    let mut out = Generated {
        rows: Vec::with_capacity(rows),
        stored: Vec::with_capacity(rows),
    };
    for person in people(rows, mix, &params.date_format, today) {
        if let Some(previous) = person.previous {
            let mut profile = map.normalize(previous, params)?.profile();
            let ad_status = match person.change {
                Change::AdActivation => "Pending",
                Change::Rehire => "Disabled",
                _ => "Enabled",
            };
            profile.insert("adaccountstatus".into(), ad_status.into());
            profile.insert("isprocessed".into(), false.into());
            if person.change == Change::Rehire {
                profile.insert("employmentstatus".into(), "Terminated".into());
            }
            out.stored.push(profile);
        }
        out.rows.extend(person.current);
    }
    Ok(out)
}

/// Writes, row by row, the report of `rows` people (`current`) and the report a previous
/// fetch read (`previous`): a first-run sync of `previous` stores the profiles `current`
/// is then compared with. For load tests of any size: nothing is held in memory.
pub fn write_reports(
    rows: usize,
    mix: &Mix,
    dates: &DateFormat,
    today: NaiveDate,
    current: &mut dyn Write,
    previous: &mut dyn Write,
) -> std::io::Result<()> {
    let mut writers: [&mut dyn Write; 2] = [current, previous];
    let mut first = [true, true];
    for out in writers.iter_mut() {
        out.write_all(b"{\"Report_Entry\": [")?;
    }
    for person in people(rows, mix, dates, today) {
        for (i, row) in [person.current, person.previous].into_iter().enumerate() {
            let Some(row) = row else { continue };
            let out = &mut writers[i];
            if !std::mem::take(&mut first[i]) {
                out.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut **out, &row)?;
        }
    }
    for out in writers.iter_mut() {
        out.write_all(b"]}\n")?;
    }
    Ok(())
}

fn pick(x: f64, mix: &Mix) -> Change {
    let shares = [
        (mix.new_hires, Change::NewHire),
        (mix.updates, Change::Update),
        (mix.terminations, Change::Termination),
        (mix.ad_activations, Change::AdActivation),
        (mix.rehires, Change::Rehire),
    ];
    let mut bound = 0.0;
    for (share, change) in shares {
        bound += share;
        if x < bound {
            return change;
        }
    }
    Change::None
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemal",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Abara",
    "Berg",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
];
const DEPARTMENTS: &[(&str, &str, &str)] = &[
    ("Engineering", "Software Engineer", "Product Development"),
    (
        "Sales NAM:NAM Channel Sales",
        "Account Executive",
        "Sales Function",
    ),
    ("Finance", "Financial Analyst", "Finance Function"),
    ("People", "HR Business Partner", "People Function"),
    ("Support", "Support Engineer", "Customer Success Function"),
    (
        "Marketing",
        "Product Marketing Manager",
        "Marketing Function",
    ),
];
const SITES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Santa Clara",
        "California",
        "95054",
        "United States Of America",
        "Americas",
    ),
    (
        "Austin",
        "Texas",
        "78701",
        "United States Of America",
        "Americas",
    ),
    ("Amsterdam", "Noord-Holland", "1017", "Netherlands", "EMEA"),
    ("Tel Aviv", "Tel Aviv", "6789141", "Israel", "EMEA"),
    ("Singapore", "Singapore", "018989", "Singapore", "APAC"),
];

/// One employee's stable data.
struct Person {
    id: usize,
    first: &'static str,
    last: String,
    department: usize,
    site: usize,
    hire: NaiveDate,
}

impl Person {
    fn new(id: usize, random: &mut SplitMix, today: NaiveDate) -> Self {
        let names = FIRST.len() * LAST.len();
        let mut last = LAST[(id / FIRST.len()) % LAST.len()].to_owned();
        if id >= names {
            // Distinct display names, so only deliberate conflicts reach the classifier.
            last.push_str(&format!("-{}", id / names));
        }
        Self {
            id,
            first: FIRST[id % FIRST.len()],
            last,
            department: random.below(DEPARTMENTS.len()),
            site: random.below(SITES.len()),
            hire: today - Days::new(30 + random.below(5000) as u64),
        }
    }

    /// The person's report row; `change` says what changed since the stored profile.
    fn row(&self, change: Change, dates: &DateFormat, today: NaiveDate) -> Value {
        let (department, title, function) = DEPARTMENTS[self.department];
        let (city, state, zip, country, region) = SITES[self.site];
        let (manager_first, manager_last) = (FIRST[(self.id / 7) % FIRST.len()], "Manager");
        let email = format!("{}.{}{}@Example.com", self.first, self.last, self.id);
        let (status, prehire, rehired, hire) = match change {
            Change::NewHire => (
                "",
                "True",
                "No",
                today + Days::new(1 + (self.id % 20) as u64),
            ),
            Change::Rehire => ("", "True", "Yes", today + Days::new(10)),
            Change::Termination => ("Terminated", "False", "No", self.hire),
            _ => ("Active", "False", "No", self.hire),
        };
        let title = if change == Change::Update {
            format!("Senior {title}")
        } else {
            title.to_owned()
        };
        let mut row = Map::with_capacity(48);
        let mut put = |key: &str, value: String| {
            row.insert(key.to_owned(), Value::String(value));
        };
        put("Employee_Type", "Regular".into());
        put("Leadership", "No".into());
        put("Work_Country_Code", "840".into());
        put(
            "Street_Address",
            format!("{} Main Street", 1 + self.id % 400),
        );
        put("Employment_Status", status.into());
        put("VP_Flag", "N".into());
        put("Mgr_ID", format!("{}", 100000 + self.id / 7));
        put("Cost_Center_Description", department.into());
        put("GDPR_Country_Flag", "0".into());
        put("Director_Flag", "N".into());
        put(
            "Email_-_Primary_Home",
            format!("{}{}@home.example", self.first, self.id),
        );
        put("First_Name", self.first.into());
        put("Last_Hire_Date", dates.format(hire));
        put("People_Manager_Flag", "N".into());
        put("Department", department.into());
        put(
            "Workday_ID",
            format!("{:032x}", self.id as u128 * 0x9e37_79b9_7f4a_7c15),
        );
        put("Postal_Code", zip.into());
        put("Rehired_Employee", rehired.into());
        put("Org_Level_1", department.into());
        put("Org_Level_2", format!("{department} {region}"));
        put("Country_Name", country.into());
        put("Emp_ID", format!("{}", 100000 + self.id));
        put("Job_Family", function.into());
        put("User_Name", email.clone());
        put("Preferred_Name_-_First_Name", self.first.into());
        put("Prehire_Flag", prehire.into());
        put("Management_Level_1", "Chief Executive".into());
        put("Work_Country_Abbrev", "US".into());
        put("Email_Address", email);
        put("Title", title);
        put("City", city.into());
        put("Job_Code", format!("{}", 2000 + self.department * 17));
        put("PAN_CF_Okta_Location_Region", region.into());
        put("Last_Name", self.last.clone());
        put("Job_Function", function.into());
        put("State", state.into());
        put("Preferred_Name", format!("{} {}", self.first, self.last));
        put("Regular_Employee_Flag", "Y".into());
        put("Preferred_Name_-_Last_Name", self.last.clone());
        put("Cost_Center_Code", format!("{}", 120100 + self.department));
        put("Location", format!("Office - {city}"));
        put(
            "Manager_Email_Address",
            format!("{manager_first}.{manager_last}@example.com"),
        );
        put(
            "Manager_Preferred_Name",
            format!("{manager_first} {manager_last}"),
        );
        put("Work_Phone", format!("+1 555 {:07}", self.id));
        if change == Change::Termination {
            let last_day = dates.format(today - Days::new(1 + (self.id % 10) as u64));
            put("Termination_Date", last_day.clone());
            put("Last_Day_of_Work", last_day);
        }
        Value::Object(row)
    }
}

/// SplitMix64: a tiny deterministic generator, so every run benchmarks the same report.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
