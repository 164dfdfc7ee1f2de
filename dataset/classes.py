"""The class lists of the datasets, in the index order the original code uses (the label of
class k is column k of every CAS and label vector): data facts, shared by the configs, the
synthetic-data generator and the methods."""

THUMOS14_CLASSES = [
    'BaseballPitch', 'BasketballDunk', 'Billiards', 'CleanAndJerk', 'CliffDiving',
    'CricketBowling', 'CricketShot', 'Diving', 'FrisbeeCatch', 'GolfSwing', 'HammerThrow',
    'HighJump', 'JavelinThrow', 'LongJump', 'PoleVault', 'Shotput', 'SoccerPenalty',
    'TennisSwing', 'ThrowDiscus', 'VolleyballSpiking',
]
"""THUMOS'14: the 20 classes of the temporal localization task, alphabetical (the original
configs' ``class_dict``)."""

ACTIVITYNET13_CLASSES = [
    'Applying sunscreen', 'Archery', 'Arm wrestling', 'Assembling bicycle', 'BMX',
    'Baking cookies', 'Ballet', 'Bathing dog', 'Baton twirling', 'Beach soccer', 'Beer pong',
    'Belly dance', 'Blow-drying hair', 'Blowing leaves', 'Braiding hair', 'Breakdancing',
    'Brushing hair', 'Brushing teeth', 'Building sandcastles', 'Bullfighting', 'Bungee jumping',
    'Calf roping', 'Camel ride', 'Canoeing', 'Capoeira', 'Carving jack-o-lanterns',
    'Changing car wheel', 'Cheerleading', 'Chopping wood', 'Clean and jerk', 'Cleaning shoes',
    'Cleaning sink', 'Cleaning windows', 'Clipping cat claws', 'Cricket', 'Croquet', 'Cumbia',
    'Curling', 'Cutting the grass', 'Decorating the Christmas tree', 'Disc dog', 'Discus throw',
    'Dodgeball', 'Doing a powerbomb', 'Doing crunches', 'Doing fencing', 'Doing karate',
    'Doing kickboxing', 'Doing motocross', 'Doing nails', 'Doing step aerobics', 'Drinking beer',
    'Drinking coffee', 'Drum corps', 'Elliptical trainer', 'Fixing bicycle', 'Fixing the roof',
    'Fun sliding down', 'Futsal', 'Gargling mouthwash', 'Getting a haircut', 'Getting a piercing',
    'Getting a tattoo', 'Grooming dog', 'Grooming horse', 'Hammer throw', 'Hand car wash',
    'Hand washing clothes', 'Hanging wallpaper', 'Having an ice cream', 'High jump',
    'Hitting a pinata', 'Hopscotch', 'Horseback riding', 'Hula hoop', 'Hurling', 'Ice fishing',
    'Installing carpet', 'Ironing clothes', 'Javelin throw', 'Kayaking', 'Kite flying',
    'Kneeling', 'Knitting', 'Laying tile', 'Layup drill in basketball', 'Long jump',
    'Longboarding', 'Making a cake', 'Making a lemonade', 'Making a sandwich',
    'Making an omelette', 'Mixing drinks', 'Mooping floor', 'Mowing the lawn', 'Paintball',
    'Painting', 'Painting fence', 'Painting furniture', 'Peeling potatoes', 'Ping-pong',
    'Plastering', 'Plataform diving', 'Playing accordion', 'Playing badminton',
    'Playing bagpipes', 'Playing beach volleyball', 'Playing blackjack', 'Playing congas',
    'Playing drums', 'Playing field hockey', 'Playing flauta', 'Playing guitarra',
    'Playing harmonica', 'Playing ice hockey', 'Playing kickball', 'Playing lacrosse',
    'Playing piano', 'Playing polo', 'Playing pool', 'Playing racquetball', 'Playing rubik cube',
    'Playing saxophone', 'Playing squash', 'Playing ten pins', 'Playing violin',
    'Playing water polo', 'Pole vault', 'Polishing forniture', 'Polishing shoes', 'Powerbocking',
    'Preparing pasta', 'Preparing salad', 'Putting in contact lenses', 'Putting on makeup',
    'Putting on shoes', 'Rafting', 'Raking leaves', 'Removing curlers', 'Removing ice from car',
    'Riding bumper cars', 'River tubing', 'Rock climbing', 'Rock-paper-scissors', 'Rollerblading',
    'Roof shingle removal', 'Rope skipping', 'Running a marathon', 'Sailing', 'Scuba diving',
    'Sharpening knives', 'Shaving', 'Shaving legs', 'Shot put', 'Shoveling snow', 'Shuffleboard',
    'Skateboarding', 'Skiing', 'Slacklining', 'Smoking a cigarette', 'Smoking hookah', 'Snatch',
    'Snow tubing', 'Snowboarding', 'Spinning', 'Spread mulch', 'Springboard diving',
    'Starting a campfire', 'Sumo', 'Surfing', 'Swimming', 'Swinging at the playground',
    'Table soccer', 'Tai chi', 'Tango', 'Tennis serve with ball bouncing', 'Throwing darts',
    'Trimming branches or hedges', 'Triple jump', 'Tug of war', 'Tumbling', 'Using parallel bars',
    'Using the balance beam', 'Using the monkey bar', 'Using the pommel horse',
    'Using the rowing machine', 'Using uneven bars', 'Vacuuming floor', 'Volleyball',
    'Wakeboarding', 'Walking the dog', 'Washing dishes', 'Washing face', 'Washing hands',
    'Waterskiing', 'Waxing skis', 'Welding', 'Windsurfing', 'Wrapping presents', 'Zumba',
]
"""ActivityNet 1.3: the 200 classes, in the original configs' order."""

CLASSES = {"THUMOS": THUMOS14_CLASSES, "ActivityNet": ACTIVITYNET13_CLASSES}
"""Dataset name (as the scripts name it) -> its class list."""
