"""Generate the synthetic support-ticket routing data set for the `support-tickets` example.

Writes `tickets.jsonl` next to this script (override with `--output`): 1,000 customer-support tickets, one JSON
object per line, `{"id": "T-00001", "text": "...", "queue": "billing"}`, spread roughly evenly over 12 queues.
The task is to route each ticket to the queue that should handle its main ask.

Why synthetic: the example has to ship its own data, be small enough to fine-tune a 135M-parameter model on a
CPU in minutes, and still be a task where a LoRA fine-tune clearly beats zero-/few-shot prompting. So:

* every ticket is written here from templates and vocabulary (no public data set is copied);
* each queue has its own intents and vocabulary, but the queue names rarely appear verbatim, so a base model
  cannot just copy a word from the text, and neighbouring queues (billing / refunds / returns / cancellation /
  order_change, account_access / security, ...) follow routing rules a model has to learn from examples;
* the text is messy on purpose: short and long tickets, polite / angry / terse / rambling tone, greetings and
  sign-offs, typos in about a quarter of tickets, ~8% tickets that mention two topics (the queue is the main ask);
* it exercises the data pipeline: ~5% tickets carry fake PII (example.com / example.org e-mails, 555-01xx phone
  numbers) for redaction, and ~2% are exact duplicates for the dedup step.

Standard library only and deterministic: the same `--seed` (default 7) always yields byte-identical output.

    python examples/support-tickets/generate.py [--seed 7] [--output PATH]
"""
from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

TOTAL = 1000
DUPLICATE_RATE = 0.02
SHORT_RATE = 0.20
AMBIGUOUS_RATE = 0.08
TYPO_RATE = 0.25
PII_RATE = 0.05
MIN_PER_QUEUE, MAX_PER_QUEUE = 72, 92
MAX_WORDS = 60

# --------------------------------------------------------------------------------------------------------------
# Vocabulary. Templates use {slot} for a value drawn once per ticket and [a|b|c] for a free choice of wording.
# --------------------------------------------------------------------------------------------------------------

FIRST_NAMES = [
    "Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Priya", "Liam", "Fatima", "Noah", "Sofia", "Kwame",
    "Emma", "Hiroshi", "Grace", "Diego", "Hannah", "Omar", "Zoe", "Ivan", "Lucia", "Ben", "Amara", "Tom", "Nadia",
    "Sam", "Elena", "Raj", "Chloe", "Marcus", "Ingrid", "Kofi", "Leah", "Pedro", "Yuki", "Dan",
]
LAST_NAMES = [
    "Garcia", "Smith", "Khan", "Wei", "Brown", "Rossi", "Patel", "Murphy", "Ali", "Nguyen", "Silva", "Mensah",
    "Johnson", "Tanaka", "Okafor", "Lopez", "Schmidt", "Haddad", "Clarke", "Petrov", "Moreno", "Cohen", "Adeyemi",
    "Walsh", "Larsen", "Kim", "Fischer", "Reyes", "Evans", "Costa",
]
PRODUCTS = [
    "AeroBlend Pro blender", "Lumen desk lamp", "TrailRunner 3 shoes", "Nimbus earbuds", "Cascade water bottle",
    "Orbit smart speaker", "Harbor rain jacket", "Pebble fitness band", "Summit hiking backpack", "Ember kettle",
    "Vela office chair", "Drift memory foam pillow", "Atlas cast iron pan", "Quill fountain pen",
    "Breeze tower fan", "Nova phone case", "Canyon duffel bag", "Halo ring light", "Tundra sleeping bag",
    "Mosaic throw blanket", "Pulse wireless charger", "Cedar cutting board", "Sprout planter set",
    "Echo noise-cancelling headphones", "Glide electric toothbrush", "Comet kids scooter", "Ridge wool socks",
    "Aurora air purifier", "Bolt power bank", "Willow linen sheets", "Zen yoga mat", "Beacon smart doorbell",
    "Fjord coffee grinder", "Maple standing desk", "Spark robot vacuum", "Luna baby monitor",
]
GARMENTS = ["TrailRunner 3 shoes", "Harbor rain jacket", "Ridge wool socks", "Alpine fleece hoodie",
            "Stride running shorts", "Meadow linen dress", "Cove swim trunks", "Granite work boots"]
PLANS = ["Plus membership", "Premium plan", "annual subscription", "monthly plan", "family plan", "Pro plan",
         "coffee subscription", "Basic plan"]
ERRORS = ["error E-1043", "error 502", "error 500", "a 403 error", "ERR_TIMEOUT", "error E-2210", "error 0x8007",
          "a 404 page", "error code 77"]
DEVICES = ["iPhone 13", "Pixel 7", "Samsung tablet", "Windows laptop", "MacBook", "Chrome", "Firefox", "iPad",
           "Android phone", "Safari"]
CARRIERS = ["UPS", "FedEx", "USPS", "DHL", "the courier", "the delivery guy"]
SIZES = ["S", "M", "L", "XL", "8", "9", "10", "11", "7.5", "42"]
COLORS = ["black", "navy", "sage green", "white", "red", "grey", "sand", "blue", "pink", "olive"]
CITIES = ["Denver", "Austin", "Toronto", "Leeds", "Melbourne", "Lagos", "Lisbon", "Seattle", "Dublin", "Manila"]
COMPANIES = ["Brightleaf Goods", "Copperline Retail", "Harbor & Pine", "Bluefinch Media", "Oakridge Outfitters",
             "Little Fern Boutique", "Northgate Supply", "Kestrel Studio", "Juniper Home Co", "Tidewater Gifts"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
AREA_CODES = ["415", "212", "646", "312", "617", "303", "206", "512"]
ORDER_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

# --------------------------------------------------------------------------------------------------------------
# Queues. For each: `asks` (the main request, one or two sentences), `details` (supporting context in the same
# queue), `short` (terse one-liners) and `side` (a background remark used when another queue's ticket mentions
# this topic in passing, which is what makes a ticket ambiguous).
# --------------------------------------------------------------------------------------------------------------

QUEUES: dict[str, dict[str, list[str]]] = {
    "billing": {
        "asks": [
            "There are two charges of {amount} on my card for {order} and I only placed it once. Can you [check|explain] [this|what happened]?",
            "I need [an invoice|a proper invoice|a VAT invoice] for {order} [for my company|for my expense report|with our business name on it].",
            "How do I update the card [on file|saved on my account]? My old one [expired|was replaced] [last month|this week].",
            "My payment keeps [getting declined|failing] at checkout even though the card [works everywhere else|has plenty of funds].",
            "I was charged {amount} on {date} and I don't recognize [it|what it's for]. [What is this charge?|Can you tell me what this is?]",
            "Why did the price of my {plan} go up from {amount} to {amount2}? [Nobody told me about a price change.|I never got a notice.]",
            "Can I switch my {plan} from monthly to yearly payments?",
            "The receipt for {order} shows the wrong company name. Could you [reissue|correct] it?",
            "We were charged sales tax on {order} but we are tax exempt. [I can send|Attached is] our certificate.",
            "Can I pay for {order} with [PayPal|a gift card|two different cards|a bank transfer]?",
            "My statement shows a pending charge of {amount} [that never went away|from an order that failed].",
            "The discount code showed in the cart but I was [still charged|billed] the full {amount}. [Why?|What happened there?]",
            "Please [send me|email me] copies of all [receipts|invoices] from [last year|the last six months] for [my accountant|my taxes].",
            "Why was I charged {amount} for the {plan} when the free trial [was supposed to run until|should last until] {date}?",
            "Is it possible to split the payment for {order} into [installments|three payments]?",
        ],
        "details": [
            "The charge shows up as [pending|posted] on my [bank statement|card].",
            "My bank says the charge came from you.",
            "The card is in my name and I'm the account holder.",
            "The amount on the invoice doesn't match what I saw at checkout.",
            "I've checked my [statement|banking app] twice.",
            "We need this sorted before our [month-end close|accounting deadline].",
        ],
        "short": [
            "charged twice??", "need an invoice for {order}", "card declined again", "why was i charged {amount}",
            "how do i update my payment card", "double charge on {order}", "whats this {amount} charge on my card",
            "price went up without notice??", "receipt for {order} please", "payment failed but my card is fine",
        ],
        "side": [
            "I can see the {amount} charge on my card already.",
            "The payment went through on {date}.",
            "I was charged {amount} for it right away.",
        ],
    },
    "refunds": {
        "asks": [
            "I'd like my money back for {order}. The {product} [wasn't what I expected|just isn't for me].",
            "When will I [receive|get] the refund [for {order}|you promised me]? It's been {days} days.",
            "You said the money would be [back on my card|credited back] within 5 days and it's been {days}. [Where is it?|Still nothing.]",
            "Can I get a partial [refund|credit] since the {product} [arrived with a scratch|is missing a part] but I'm keeping it?",
            "The {product} dropped to {amount} [a day|two days] after I bought it. Can you refund the difference?",
            "My {plan} renewed on {date} and I forgot to turn it off. Any chance I can get the {amount} back?",
            "I sent the {product} back [two weeks ago|on {date}] and the money still hasn't [shown up|hit my account].",
            "Please reimburse the {amount} I paid for [express|next-day] delivery on {order}, since it came late anyway.",
            "I was promised store credit of {amount} [by one of your agents|on the phone] but never received it.",
            "Can the refund go to a different card? The original one [is closed|was cancelled by my bank].",
            "I only got {amount} back instead of {amount2} for {order}. [Why the difference?|Please send the rest.]",
            "Please just give me my money back for {order}. I don't want a replacement.",
            "Your system shows my refund as processed but my bank has nothing. [Can you send a reference number?|Can you check?]",
        ],
        "details": [
            "I paid with [Visa|Mastercard|PayPal|Apple Pay].",
            "I don't want store credit, I want it on my original payment method.",
            "My bank says nothing is pending on their side.",
            "The order total was {amount2}.",
            "I was told 5-7 business days.",
        ],
        "short": [
            "where is my refund", "refund for {order} pls", "still no money back", "i want my {amount} back",
            "money back please, the {product} is junk", "refund status?", "its been {days} days, wheres my refund",
            "havent got my money back for {order}",
        ],
        "side": [
            "I was already refunded for the missing item, so that part is fine.",
            "I got my money back for another order last month without any trouble.",
        ],
    },
    "account_access": {
        "asks": [
            "I can't log in to my account. It says my password is [wrong|incorrect] even [after resetting it|though I know it's right].",
            "The password reset email never [arrives|shows up]. I've checked spam [too|and promotions].",
            "I got a new phone and now I can't get the [verification|two-factor|2FA] codes. How do I get back in?",
            "My account is locked after too many [attempts|sign-in attempts]. Can you unlock it?",
            "I forgot which email I used to sign up. Can you help me find my account? It's under {first} {last}.",
            "I changed my email address and now the login link goes to my old [inbox|address], which I can't access.",
            "The sign-in [code|link] you text me has expired every time I [use|try] it.",
            "I signed up with Google but now it says no account exists [with that email|when I use the Google button].",
            "My [husband|wife|partner] set up the account and [moved out|gave me the details]. How do I get access?",
            "I'm stuck in a loop: I reset my password, sign in, and it asks me to reset it again.",
            "My account says it's been [deactivated|suspended] and I don't know why. I just want to get back in.",
            "It keeps signing me out [every few minutes|right after I sign in] and I can't stay logged in.",
        ],
        "details": [
            "I've tried [Chrome|Safari|the app] and [Firefox|incognito|a different phone].",
            "I have orders in there I need to see.",
            "I've reset it three times today.",
            "I don't have the old phone anymore.",
            "My points balance is in that account so I don't want to make a new one.",
        ],
        "short": [
            "cant log in!!", "password reset not working", "locked out of my account", "no 2fa code",
            "reset email never came", "cant sign in on the app", "forgot my password and the reset link is broken",
            "account locked pls help", "stuck on the verification code screen",
        ],
        "side": [
            "I finally got back into my account after resetting my password.",
            "It took me three tries to log in, but I'm in now.",
        ],
    },
    "technical_issue": {
        "asks": [
            "The app crashes [every time|as soon as] I open [my cart|the orders page|it] on my {device}.",
            "I get {error} when I try to [check out|load my order history|upload a photo].",
            "The website is [super slow|just spinning|not loading] [today|since this morning] on {device}.",
            "The [Place order|Save|Continue] button doesn't do anything when I click it.",
            "Since the update to version {version}, [notifications don't work|the app freezes|search shows nothing].",
            "Images on the product pages are [broken|not loading|showing as blank boxes].",
            "The {product} companion app won't [pair|connect|sync] with the device.",
            "I keep getting a blank white screen after [logging in|adding items to the cart].",
            "The page [jumps back to the top|reloads] every time I [type in the address field|change the quantity].",
            "Your [API|CSV export] gives {error} for [every request|everything since {date}].",
            "Dark mode makes the text unreadable on the [settings screen|checkout page].",
            "The firmware update for my {product} [failed halfway|got stuck at 80%] and now it won't turn on.",
        ],
        "details": [
            "I've [cleared my cache|reinstalled the app|restarted my phone] and it still happens.",
            "Screenshot attached.",
            "It started after the last update.",
            "It works fine on my laptop, just not on my phone.",
            "I'm on {device} with the latest version.",
            "Other sites work fine so it's not my internet.",
        ],
        "short": [
            "app keeps crashing", "{error} on checkout", "site is down?", "page wont load", "app frozen on {device}",
            "the button doesnt work", "blank screen after update", "getting {error} again",
            "sync broken since {version}",
        ],
        "side": [
            "Your app crashed twice while I was trying to do this myself.",
            "The website kept timing out, which is why I'm writing here.",
            "I tried to do it online but got {error}.",
        ],
    },
    "shipping": {
        "asks": [
            "Where is my [order|package] {order}? It was supposed to arrive [on {date}|{days} days ago].",
            "Tracking for {order} hasn't updated in {days} days.",
            "It says delivered but [there's nothing at my door|I never got it|my neighbors don't have it either].",
            "Can I pay for express delivery on {order}? I need it by {date}.",
            "Do you deliver to [Canada|Ireland|New Zealand|Puerto Rico]? How long does it take?",
            "My package is stuck in customs. [Do I need to pay anything?|What do I do?]",
            "{carrier} says the address is [incomplete|undeliverable] for {order}, but it's the same address as always.",
            "My order came in two boxes and only one has [arrived|shown up].",
            "The courier left my parcel [in the rain|with the wrong neighbor|at the wrong building].",
            "Why does {order} still say 'label created' after {days} days?",
            "How much is delivery to [Alaska|Hawaii|the UK] for an order around {amount}?",
        ],
        "details": [
            "I need it for a [birthday|wedding] on {date}.",
            "I've been home all day.",
            "{carrier} told me to contact you.",
            "It's been sitting at the same [depot|sorting facility] since {date}.",
            "I paid for 2-day delivery.",
        ],
        "short": [
            "where is my order {order}??", "tracking not updating", "package says delivered but its not here",
            "still waiting on {order}", "when will {order} arrive", "parcel lost?", "stuck in customs",
            "no movement on tracking for {days} days",
        ],
        "side": [
            "My package took almost two weeks to arrive.",
            "The parcel showed up {days} days late.",
            "{carrier} left it with my neighbor.",
        ],
    },
    "returns": {
        "asks": [
            "How do I send back the {product}? It [isn't what I expected|doesn't work for me|looks different from the photos].",
            "The {garment} [doesn't fit|is too small|runs big]. How do I send it back?",
            "Can you email me a return label for {order}?",
            "I'd like to exchange the {garment} for a size {size}.",
            "Is it too late to send back something I bought on {date}?",
            "The {product} arrived [damaged|cracked|with a dent] and I want to send it back.",
            "I dropped off my return at {carrier} [yesterday|on {date}]. Do I need to do anything else?",
            "Can I return items bought [on sale|with a gift card|as a gift]?",
            "The return portal won't accept {order}. It says the item [isn't eligible|is final sale].",
            "Do I have to pay the postage to send back the {product}?",
            "I received the wrong color {product} and want to swap it for the [{color}|one I ordered].",
            "I'd like to send back one item from {order} and keep the rest.",
            "Can I bring the {product} back to a store instead of mailing it?",
            "Does the {product} need to be in the original box for me to send it back?",
        ],
        "details": [
            "It's still unused with the tags on.",
            "I still have the original packaging.",
            "I bought it {days} days ago.",
            "It was a gift so I don't have the receipt.",
        ],
        "short": [
            "need a return label for {order}", "how do i send this back", "exchange for size {size}?",
            "how long is the return window?", "want to swap the {product}", "can i still send back {order}",
            "return label never came", "{garment} doesnt fit, how do i exchange it",
        ],
        "side": [
            "I already mailed the other item back last week.",
            "I've already sent the {product} back using your label.",
        ],
    },
    "order_change": {
        "asks": [
            "Can I change the delivery address on {order}? It hasn't [gone out|left the warehouse] yet.",
            "I'd like to add a {product} to {order} before it goes out.",
            "I ordered the wrong size. Can you change it to {size} before it [leaves|gets packed]?",
            "Please remove the {product} from {order}, I only need the rest.",
            "Can you combine {order} and {order2} into one package?",
            "I'd like to switch the {color} one for {color2} on my order from [this morning|last night].",
            "Can I change the gift message on {order}?",
            "Could you update the quantity on {order} from {n} to {n2}?",
            "I typed the wrong [apartment number|zip code] on {order}. Can you fix it before it goes out?",
            "Can you hold {order} and send it after {date}? I'll be away until then.",
            "Please swap the {product} in my order for the newer model.",
        ],
        "details": [
            "I placed it [about an hour|twenty minutes|a few hours] ago.",
            "The status still says processing.",
            "Everything else on the order can stay the same.",
            "I'm happy to pay the difference.",
            "I'm moving on {date}.",
        ],
        "short": [
            "change address on {order} pls", "wrong size ordered, change to {size}", "add an item to my order?",
            "can i edit {order}", "remove one item from {order}", "update qty on {order} to {n}",
            "need to change my order before it goes out",
        ],
        "side": [
            "I also changed the address on it yesterday, which went fine.",
            "I had already edited the order once to add a second item.",
        ],
    },
    "product_question": {
        "asks": [
            "Is the {product} [waterproof|dishwasher safe|machine washable]?",
            "Does the {product} work with [an iPhone|Android|a 220V outlet|Alexa]?",
            "What are the dimensions of the {product}? [I need to know if it fits|Want to check it fits] [under my desk|in a carry-on|on a small counter].",
            "Will the {product} fit [under my desk|in a carry-on|on a small counter]? [What are the dimensions?|The size isn't listed.]",
            "What's the difference between the {product} and the [newer|older|cheaper|Pro] version?",
            "When will the {product} be back in stock in {color}?",
            "How long does the battery on the {product} last on a full charge?",
            "Is the {product} made of [real leather|BPA-free plastic|solid wood|recycled materials]?",
            "Does the {product} come with [a charger|a carrying case|batteries|assembly tools]?",
            "What size should I get in the {garment}? I'm usually a size {size}.",
            "Is there a warranty on the {product}, and what does it cover?",
            "Can the {product} be used [outdoors|by kids|in the shower]?",
            "How heavy is the {product}? [I need to carry it up stairs.|I'm planning to take it hiking.]",
        ],
        "details": [
            "I'm deciding between this and another brand.",
            "The product page doesn't say.",
            "I want to buy it as a gift for my [dad|sister|friend].",
            "I'd order two if it does.",
            "The reviews say different things.",
        ],
        "short": [
            "is the {product} waterproof?", "does the {garment} come in size {size}?", "dimensions of the {product}?",
            "{product} back in stock when?", "battery life on the {product}?", "does it come in {color}",
            "is the {product} compatible with android?",
        ],
        "side": [
            "Before buying I asked whether it was waterproof and you said yes.",
            "I checked the size chart before ordering.",
        ],
    },
    "cancellation": {
        "asks": [
            "Please cancel my {plan}, I don't [need|use] it anymore.",
            "I want to cancel {order} [entirely|completely]. I found it cheaper elsewhere.",
            "How do I turn off auto-renew on my {plan}?",
            "Please close my account and stop all future [charges|emails].",
            "[End|Stop] my {plan} [immediately|at the end of this month|on {date}].",
            "I tried to [end|cancel] it online but can't find the button. Just stop my {plan} please.",
            "I signed up for the trial by mistake. Please end it before it turns into a paid plan.",
            "Stop my [weekly|monthly] [coffee|snack box|refill] deliveries, I'm done.",
            "Can I pause my {plan} instead of ending it?",
            "I ordered by accident a few minutes ago. Please cancel {order}.",
            "I'm moving abroad and won't need the {plan} anymore. Please end it.",
        ],
        "details": [
            "I've been a member for [two|three|five] years.",
            "Please confirm by email.",
            "I don't want to be charged again.",
            "Nothing against you, I just don't use it.",
            "It's just too expensive for me right now.",
        ],
        "short": [
            "cancel my subscription pls", "cancel {order}", "stop auto renew", "how do i unsubscribe from the {plan}",
            "end my membership", "pls close my account", "stop the {plan}", "dont want this anymore, end it",
        ],
        "side": [
            "I almost ended my membership last month.",
            "I called off a different order earlier today.",
        ],
    },
    "security": {
        "asks": [
            "I got an email [saying|claiming] it's from you and asking for my card details. Is it [real|legit]?",
            "Someone [logged into|got into] my account from [{city}|another country] and it wasn't me.",
            "There are orders on my account I didn't place. I think I've been hacked.",
            "I got a login alert [from a device I don't own|at 3am] while I was asleep.",
            "My account email was changed without my permission.",
            "I think I found a vulnerability on your site and want to report it [responsibly|privately].",
            "A text with a link says my package is on hold and asks me to pay {amount}. Is that really you?",
            "Can you tell me if my data was [exposed|affected] in [a breach|the breach on the news]?",
            "My saved card was used for {order}, which I never placed.",
            "Someone called me pretending to be from your support team and asked for my password.",
            "Please sign out all devices on my account. I think someone else has my password.",
            "I keep getting password reset emails I didn't request, [twice|several times] today.",
        ],
        "details": [
            "I've already changed my password.",
            "I haven't clicked the link.",
            "I'm worried my card details are out there now.",
            "The sender address looked weird.",
            "I have two-factor turned on, so I don't get how this happened.",
        ],
        "short": [
            "hacked??", "orders i didnt place on my account", "is this email from you? looks like phishing",
            "someone logged in from {city}", "suspicious login alert", "my email was changed, not by me",
            "weird text asking me to pay {amount}",
        ],
        "side": [
            "I got a login alert last week that turned out to be me on my new laptop.",
            "There was a strange text about my package, which I ignored.",
        ],
    },
    "feedback": {
        "asks": [
            "Just wanted to say the {product} is [fantastic|the best thing I've bought this year]. [Great job|Keep it up]!",
            "It would be great if the app had [a dark mode|a wishlist|saved sizes].",
            "Your new website layout is [confusing|much harder to use]. [I liked the old one better.|Please bring back the old menu.]",
            "The packaging for the {product} [used way too much plastic|was huge for such a small item].",
            "{agent} on your chat team was [incredibly helpful|so patient] with me [yesterday|on {date}]. Please pass on my thanks.",
            "Suggestion: let us [filter by price|save carts|pick delivery days] when shopping.",
            "I've been a customer for years and the quality has [gone downhill|really improved] lately.",
            "Not asking for anything, just letting you know the {product} instructions are [hard to follow|missing a step].",
            "Love the new [colors|designs|recipes] this season!",
            "Your emails are too frequent, [I get three a day|it's getting a bit much]. Just my two cents.",
            "Would love to see the {product} in [more colors|a bigger size|a travel version].",
        ],
        "details": [
            "No need to reply.",
            "Just my two cents.",
            "I'll keep shopping with you either way.",
            "My friends said the same thing.",
            "Hope this helps.",
        ],
        "short": [
            "love the {product}!!", "great service today, thanks", "new site layout is confusing",
            "pls add dark mode", "way too much packaging", "shoutout to {agent} on chat", "the {product} is amazing",
        ],
        "side": [
            "By the way, the {product} itself is great.",
            "Your chat agent was lovely, for what it's worth.",
        ],
    },
    "partnerships": {
        "asks": [
            "I run {company} and we'd like to [stock|carry|resell] the {product} in our [stores|shop]. Who handles wholesale?",
            "Do you have an affiliate program? I run a [blog|YouTube channel|newsletter] about [home cooking|outdoor gear|tech].",
            "I'm a content creator with about {k}k followers and would love to work together on a [sponsored post|review|giveaway].",
            "We're [a software company|an agency] interested in integrating with your [platform|API]. Who can we talk to?",
            "Can we discuss bulk pricing for [{n}00|a few hundred] units of the {product} for corporate gifts?",
            "Our [school|nonprofit|charity] is looking for a sponsor for [our spring fundraiser|an event on {date}]. Would you be interested?",
            "I'd like to become an authorized reseller in {city}. What are the requirements?",
            "Is there someone on your business development team I could [email|set up a call with]?",
            "We'd like to feature the {product} in our [magazine|holiday gift guide] and need a contact for samples.",
            "Do you do co-marketing or joint promotions with [local businesses|other brands]?",
        ],
        "details": [
            "Happy to send our media kit.",
            "We have {n} locations across the [Midwest|UK|West Coast].",
            "Our audience is mostly [parents|runners|home cooks].",
            "Let me know a good time for a call next week.",
            "We've worked with similar brands before.",
        ],
        "short": [
            "affiliate program?", "wholesale inquiry from {company}", "collab request from a creator",
            "interested in reselling your products", "bulk pricing for {company}?",
            "who handles business development?", "sponsorship request for our {city} event",
        ],
        "side": [
            "We've been buying the {product} for our office for a while.",
            "I run a small shop, {company}, on the side.",
        ],
    },
}

# Which other topics a ticket of each queue plausibly mentions in passing (its ambiguous variants).
CONFUSABLE = {
    "billing": ["cancellation", "account_access", "technical_issue", "refunds"],
    "refunds": ["shipping", "returns", "billing", "technical_issue", "cancellation"],
    "account_access": ["technical_issue", "security"],
    "technical_issue": ["account_access", "billing", "feedback"],
    "shipping": ["order_change", "billing", "technical_issue"],
    "returns": ["shipping", "product_question", "refunds"],
    "order_change": ["shipping", "product_question", "billing"],
    "product_question": ["shipping", "returns", "feedback"],
    "cancellation": ["billing", "technical_issue", "feedback", "shipping"],
    "security": ["account_access", "billing"],
    "feedback": ["shipping", "technical_issue", "product_question"],
    "partnerships": ["product_question", "feedback"],
}

GREETINGS = ["Hi team,", "Hello,", "Hi,", "Hey there,", "Dear support,", "Good morning,", "Hello support team,",
             "Hi there,", "Hey,"]
SIGNOFFS = ["Thanks, {first}", "Best, {first}", "{first}", "Cheers, {first} {last}", "Regards, {first} {last}",
            "- {first}", "Thank you, {first} {last}", "Many thanks, {first}"]
TONES = {
    "polite": {
        "prefix": ["Hope you're well.", "Sorry to bother you.", "I hope you can help."],
        "suffix": ["Thanks so much!", "Thank you in advance.", "Appreciate any help.", "Thanks for your time.",
                   "Any help would be great."],
    },
    "angry": {
        "prefix": ["This is ridiculous.", "Seriously?", "I'm really fed up.", "Third time asking about this.",
                   "Unbelievable."],
        "suffix": ["Fix this now.", "This is unacceptable.", "I want an answer today.", "Very disappointed.",
                   "Sort it out!!"],
    },
    "rambling": {
        "prefix": ["Not sure if this is the right place to ask, but", "Sorry if this is a silly question, but",
                   "So, long story short,", "Okay so basically", "I've been meaning to write for a while."],
        "suffix": ["Anyway, sorry for the long message.", "Anyway, that's about it.",
                   "Let me know if you need anything else from me."],
    },
    "neutral": {"prefix": [], "suffix": []},
}
TONE_WEIGHTS = {"polite": 35, "neutral": 30, "angry": 20, "rambling": 15}
CALM_QUEUES = ["product_question", "feedback", "partnerships"]  # no angry tone: nothing to be angry about
AMBIGUOUS_BRIDGES = ["", "", "Anyway,", "But that's not why I'm writing.", "That aside,", "Separate thing though:",
                     "Mainly, though,"]
PII_SENTENCES = ["You can reach me at {email}.", "My email is {email} if you need it.",
                 "Call me at {phone} if that's easier.", "Best number to reach me is {phone}.",
                 "Please reply to {email}, not the address on file.", "My number is {phone}."]
# Words after which a following sentence continues in lower case ("..., but the app crashes").
LOWERCASE_STARTERS = {
    "the", "my", "a", "it", "it's", "there", "there's", "your", "you", "our", "we", "we'd", "we're", "someone",
    "can", "could", "would", "will", "is", "are", "do", "does", "how", "where", "when", "why", "what", "what's",
    "please", "just", "since", "stop", "end", "by", "before", "not", "so,", "okay", "sorry", "hope", "this", "third",
    "tracking", "images", "delivery", "dark", "love", "suggestion:", "seriously?", "unbelievable.",
}

# --------------------------------------------------------------------------------------------------------------
# Slot values and template expansion
# --------------------------------------------------------------------------------------------------------------


def order_number(rng: random.Random) -> str:
    return f"#{rng.choice(ORDER_LETTERS)}{rng.randint(10000, 99999)}"


def amount(rng: random.Random) -> str:
    dollars = rng.choice([9, 12, 14, 19, 24, 29, 34, 39, 45, 49, 59, 64, 79, 89, 99, 119, 149, 199, 249])
    return f"${dollars}{rng.choice(['.99', '.00', '.50', '.95', '.99'])}"


def date(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"
    if kind == 1:
        return f"{rng.randint(1, 12)}/{rng.randint(1, 28)}"
    if kind == 2:
        day = rng.randint(1, 28)
        suffix = "th" if 10 <= day <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        return f"the {day}{suffix}"
    return rng.choice(WEEKDAYS)


def price(text: str) -> float:
    return float(text.lstrip("$"))


def email(rng: random.Random, first: str, last: str) -> str:
    domain = rng.choice(["example.com", "example.org"])
    style = rng.randrange(3)
    if style == 0:
        local = f"{first}.{last}"
    elif style == 1:
        local = f"{first}{rng.randint(1, 99)}"
    else:
        local = f"{first[0]}{last}"
    return f"{local.lower()}@{domain}"


def phone(rng: random.Random) -> str:
    area, line = rng.choice(AREA_CODES), f"01{rng.randint(0, 99):02d}"
    return rng.choice([f"+1 {area} 555 {line}", f"({area}) 555-{line}", f"{area}-555-{line}", f"555-{line}"])


SLOT_MAKERS = {
    "order": order_number, "order2": order_number, "amount": amount, "amount2": amount, "date": date,
    "product": lambda rng: rng.choice(PRODUCTS), "garment": lambda rng: rng.choice(GARMENTS),
    "plan": lambda rng: rng.choice(PLANS), "error": lambda rng: rng.choice(ERRORS),
    "device": lambda rng: rng.choice(DEVICES), "carrier": lambda rng: rng.choice(CARRIERS),
    "size": lambda rng: rng.choice(SIZES), "color": lambda rng: rng.choice(COLORS),
    "color2": lambda rng: rng.choice(COLORS), "city": lambda rng: rng.choice(CITIES),
    "company": lambda rng: rng.choice(COMPANIES), "agent": lambda rng: rng.choice(FIRST_NAMES),
    "days": lambda rng: str(rng.randint(3, 21)), "n": lambda rng: str(rng.randint(2, 6)),
    "n2": lambda rng: str(rng.randint(2, 6)), "k": lambda rng: str(rng.choice([5, 12, 20, 45, 80, 150])),
    "version": lambda rng: f"{rng.randint(3, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 4)}",
}
DISTINCT_PAIRS = [("color", "color2"), ("n", "n2"),
                  ("order", "order2")]


def new_context(rng: random.Random) -> dict[str, str]:
    """Per-ticket slot values: the customer's name now, everything else lazily on first use."""
    return {"first": rng.choice(FIRST_NAMES), "last": rng.choice(LAST_NAMES)}


def slot(name: str, rng: random.Random, ctx: dict[str, str]) -> str:
    if name not in ctx:
        value = SLOT_MAKERS[name](rng)
        while name == "amount2" and "amount" in ctx and price(value) <= price(ctx["amount"]):
            value = SLOT_MAKERS[name](rng)  # "from $19.99 to $49.00", "$12.00 back instead of $59.95"
        for a, b in DISTINCT_PAIRS:
            other = a if name == b else b if name == a else None
            while other in ctx and ctx[other] == value:
                value = SLOT_MAKERS[name](rng)
        ctx[name] = value
    return ctx[name]


def expand(template: str, rng: random.Random, ctx: dict[str, str]) -> str:
    """Resolve [a|b] choices, then {slot} values (reused within one ticket)."""
    text = re.sub(r"\[([^\[\]]*)\]", lambda m: rng.choice(m.group(1).split("|")), template)
    return re.sub(r"\{(\w+)\}", lambda m: slot(m.group(1), rng, ctx), text)


# --------------------------------------------------------------------------------------------------------------
# Ticket composition
# --------------------------------------------------------------------------------------------------------------


def lower_start(sentence: str) -> str:
    """'The app crashes.' -> 'the app crashes.' (only for ordinary first words, never names or 'I')."""
    first, _, rest = sentence.partition(" ")
    if first.lower() in LOWERCASE_STARTERS:
        return f"{first[0].lower()}{first[1:]} {rest}".rstrip()
    return sentence


def join_sentences(parts: list[str]) -> str:
    """Join sentences; after a connector ending in ',' / 'but' / ':' the next one continues in lower case."""
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        if out and re.search(r"(,|\bbut|:|basically)$", out[-1]):
            part = lower_start(part)
        out.append(part)
    return " ".join(out)


def pick_tone(queue: str, rng: random.Random) -> str:
    names = [n for n in TONE_WEIGHTS if not (n == "angry" and queue in CALM_QUEUES)]
    return rng.choices(names, weights=[TONE_WEIGHTS[n] for n in names])[0]


def short_ticket(queue: str, rng: random.Random, ctx: dict[str, str]) -> str:
    """A terse one-liner, e.g. 'cant log in!!' or 'hi, where is my order #K40211??'."""
    text = expand(rng.choice(QUEUES[queue]["short"]), rng, ctx)
    roll = rng.random()
    if roll < 0.2:
        text += rng.choice(["!!", "!!!", " asap", " pls", "??"]) if text[-1] not in "?!" else "!"
    elif roll < 0.35:
        text = rng.choice(["hi, ", "hello - ", "hey ", "urgent: "]) + text
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    return text


def long_ticket(queue: str, rng: random.Random, ctx: dict[str, str], *, ambiguous: bool) -> list[str]:
    """Greeting, tone opener, main ask, 0-2 details, tone closer, sign-off. Returns the sentences in order."""
    spec, tone = QUEUES[queue], pick_tone(queue, rng)
    body = [expand(rng.choice(spec["asks"]), rng, ctx)]
    details = rng.sample(spec["details"], k=rng.choices([0, 1, 2], weights=[25, 50, 25])[0])
    body += [expand(d, rng, ctx) for d in details]
    if ambiguous:
        side = expand(rng.choice(QUEUES[rng.choice(CONFUSABLE[queue])]["side"]), rng, ctx)
        if rng.random() < 0.6:
            body = [side, rng.choice(AMBIGUOUS_BRIDGES)] + body
        else:
            body = body[:1] + [f"{rng.choice(['Also,', 'Oh and', 'FYI,'])} {lower_start(side)}"] + body[1:]
    tones = TONES[tone]
    opener = rng.choice(tones["prefix"]) if tones["prefix"] and rng.random() < 0.6 else ""
    closer = rng.choice(tones["suffix"]) if tones["suffix"] and rng.random() < 0.7 else ""
    if tone == "angry" and rng.random() < 0.4:
        body[-1] = body[-1].rstrip(".?!") + rng.choice(["!!", "!!!", "?!"])
    greeting = rng.choice(GREETINGS) if tone != "angry" and rng.random() < 0.5 else ""
    signoff = expand(rng.choice(SIGNOFFS), rng, ctx) if rng.random() < 0.35 else ""
    return [greeting, opener, *body, closer, signoff]


def add_pii(parts: list[str], rng: random.Random, ctx: dict[str, str]) -> list[str]:
    """Add a contact sentence with a fake e-mail (example.com/.org) or 555-01xx phone, before any sign-off."""
    contact = rng.choice(PII_SENTENCES).format(email=email(rng, ctx["first"], ctx["last"]), phone=phone(rng))
    signoff_at = len(parts) - 1 if len(parts) > 1 and parts[-1] else len(parts)
    if len(parts) == 1 and parts[0][-1].isalnum():  # a bare one-liner: end it before adding more
        parts = [*parts[:-1], parts[-1] + "."]
    return parts[:signoff_at] + [contact] + parts[signoff_at:]


def typo_word(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:  # swap two neighbouring letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:  # drop a letter
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]  # double a letter


def add_typos(text: str, rng: random.Random) -> str:
    """Lower-case, drop apostrophes and/or garble 1-3 words; never touches numbers, e-mails or order ids."""
    original = text
    if rng.random() < 0.4:
        text = text.lower()
    if rng.random() < 0.6:
        text = text.replace("'", "")
    words = text.split(" ")
    eligible = [i for i, w in enumerate(words) if w.strip(".,!?:;").isalpha() and len(w.strip(".,!?:;")) >= 4]
    count = rng.choice([1, 1, 2, 3]) if text != original else rng.choice([1, 2, 2, 3])
    for i in rng.sample(eligible, k=min(count, len(eligible))):
        core = words[i].rstrip(".,!?:;")
        words[i] = typo_word(core, rng) + words[i][len(core):]
    return " ".join(words)


def make_ticket(queue: str, rng: random.Random, *, short: bool, ambiguous: bool, pii: bool, typos: bool) -> str:
    """One ticket of `queue`, redrawn until it fits MAX_WORDS."""
    while True:
        ctx = new_context(rng)
        if short:
            parts = [short_ticket(queue, rng, ctx)]
        else:
            parts = long_ticket(queue, rng, ctx, ambiguous=ambiguous)
        if pii:
            parts = add_pii(parts, rng, ctx)
        text = join_sentences(parts)
        if typos:
            text = add_typos(text, rng)
        if len(text.split()) <= MAX_WORDS:
            return text


# --------------------------------------------------------------------------------------------------------------
# The data set
# --------------------------------------------------------------------------------------------------------------


def queue_counts(n: int, rng: random.Random) -> dict[str, int]:
    """Split n over the queues roughly evenly, with a little seeded imbalance within the allowed band."""
    names = list(QUEUES)
    counts = {q: n // len(names) for q in names}
    for q in rng.sample(names, n - sum(counts.values())):
        counts[q] += 1
    for _ in range(40):
        give, take = rng.sample(names, 2)
        if counts[give] > MIN_PER_QUEUE + 2 and counts[take] < MAX_PER_QUEUE - 2:
            counts[give] -= 1
            counts[take] += 1
    return counts


def flags(n: int, rate: float, rng: random.Random, among: list[int]) -> set[int]:
    """Exactly round(n * rate) indices, drawn from `among`."""
    return set(rng.sample(among, k=min(round(n * rate), len(among))))


def normalised(text: str) -> str:
    """The key the data pipeline dedups on: case- and whitespace-insensitive."""
    return " ".join(text.lower().split())


def generate(seed: int = 7, total: int = TOTAL) -> list[dict[str, str]]:
    """Build `total` tickets: unique ones plus ~2% exact duplicates, shuffled, with ids T-00001..."""
    rng = random.Random(seed)
    n_dupes = round(total * DUPLICATE_RATE)
    n_unique = total - n_dupes
    plan = [q for q, c in queue_counts(n_unique, rng).items() for _ in range(c)]
    everyone = list(range(n_unique))
    short = flags(n_unique, SHORT_RATE, rng, everyone)
    ambiguous = flags(n_unique, AMBIGUOUS_RATE, rng, [i for i in everyone if i not in short])
    pii = flags(n_unique, PII_RATE, rng, everyone)
    typos = flags(n_unique, TYPO_RATE, rng, everyone)

    tickets, seen = [], set()
    for i, queue in enumerate(plan):
        while True:
            text = make_ticket(queue, rng, short=i in short, ambiguous=i in ambiguous, pii=i in pii,
                               typos=i in typos)
            if normalised(text) not in seen:
                break
        seen.add(normalised(text))
        tickets.append({"text": text, "queue": queue})

    tickets += [dict(t) for t in rng.sample(tickets, n_dupes)]
    rng.shuffle(tickets)
    return [{"id": f"T-{i:05d}", **t} for i, t in enumerate(tickets, start=1)]


def write_jsonl(rows: list[dict[str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "tickets.jsonl",
                        help="where to write the JSONL (default: tickets.jsonl next to this script)")
    args = parser.parse_args(argv)
    rows = generate(args.seed)
    write_jsonl(rows, args.output)
    print(f"wrote {len(rows)} tickets to {args.output}")


if __name__ == "__main__":
    main()
